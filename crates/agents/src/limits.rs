//! The allowed range of every numeric training setting, and the combinations that would make a
//! run do nothing: one table that `TrainConfig::check` enforces, `imbarb config show` prints
//! beside each key, and refusals quote. The ranges are wide (no shipped or published setting
//! is near them) and exist to stop values that cannot train: an infinite learning rate, a
//! network that needs terabytes, a batch larger than its replay.

use crate::config::{Algo, Support, TargetUpdate, TrainConfig};
use imbarb_util::range::{OutOfRange, Range};

/// One numeric setting's allowed range.
pub struct ConfigLimit {
    /// The TOML key, dotted from the config's root.
    pub key: &'static str,
    /// Its allowed values.
    pub range: Range,
    /// The value in a config (`None`: unset or not applicable).
    pub get: fn(&TrainConfig) -> Option<f64>,
}

const fn limit(
    key: &'static str,
    range: Range,
    get: fn(&TrainConfig) -> Option<f64>,
) -> ConfigLimit {
    ConfigLimit { key, range, get }
}

/// Up to ten billion: steps, periods and other counts of time.
const COUNT: Range = Range::closed(1.0, 1e10);
/// Up to ten billion, zero allowed.
const COUNT0: Range = Range::closed(0.0, 1e10);
/// The width of a layer, and sample counts of the distributional heads.
const WIDTH: Range = Range::closed(1.0, 16_384.0);
/// A fraction.
const FRACTION: Range = Range::closed(0.0, 1.0);

/// Every numeric training setting (the battery's are `imbarb_sim::BATTERY_LIMITS`).
pub const TRAINING_LIMITS: &[ConfigLimit] = &[
    limit("training.total_steps", COUNT, |c| {
        Some(c.training.total_steps as f64)
    }),
    limit("training.envs", Range::closed(1.0, 4_096.0), |c| {
        Some(c.training.envs as f64)
    }),
    limit(
        "training.updates_per_step",
        Range::closed(1.0, 1_000.0),
        |c| Some(c.training.updates_per_step as f64),
    ),
    limit("training.batch_size", Range::closed(1.0, 65_536.0), |c| {
        Some(c.training.batch_size as f64)
    }),
    limit("training.replay_capacity", Range::closed(1.0, 1e9), |c| {
        Some(c.training.replay_capacity as f64)
    }),
    limit("training.warm_start_steps", COUNT0, |c| {
        Some(c.training.warm_start_steps as f64)
    }),
    limit("training.learning_starts", COUNT0, |c| {
        Some(c.training.learning_starts as f64)
    }),
    limit("training.gamma", Range::above(0.0, 1.0), |c| {
        Some(c.training.gamma.into())
    }),
    limit("training.n_step", Range::closed(1.0, 10_000.0), |c| {
        Some(c.training.n_step as f64)
    }),
    limit(
        "training.n_step_with_cap",
        Range::closed(1.0, 10_000.0),
        |c| c.training.n_step_with_cap.map(|n| n as f64),
    ),
    limit("training.lr", Range::above(0.0, 1.0), |c| {
        Some(c.training.lr.into())
    }),
    limit("training.lr_end", Range::above(0.0, 1.0), |c| {
        c.training.lr_end.map(f64::from)
    }),
    limit("training.grad_clip", Range::closed(0.0, 1e6), |c| {
        Some(c.training.grad_clip.into())
    }),
    limit("training.target.period", COUNT, |c| {
        match c.training.target {
            TargetUpdate::Hard { period } => Some(period as f64),
            TargetUpdate::Polyak { .. } => None,
        }
    }),
    limit("training.target.tau", Range::above(0.0, 1.0), |c| {
        match c.training.target {
            TargetUpdate::Polyak { tau } => Some(tau.into()),
            TargetUpdate::Hard { .. } => None,
        }
    }),
    limit("training.reward_scale", Range::above(0.0, 100.0), |c| {
        Some(c.training.reward_scale.into())
    }),
    limit("training.epsilon_start", FRACTION, |c| {
        Some(c.training.epsilon_start)
    }),
    limit("training.epsilon_end", FRACTION, |c| {
        Some(c.training.epsilon_end)
    }),
    limit("training.epsilon_decay_steps", COUNT0, |c| {
        Some(c.training.epsilon_decay_steps as f64)
    }),
    limit("training.validate_every", COUNT, |c| {
        Some(c.training.validate_every as f64)
    }),
    limit("training.threads", Range::closed(1.0, 256.0), |c| {
        Some(c.training.threads as f64)
    }),
    limit(
        "training.observation_noise",
        Range::closed(0.0, 10.0),
        |c| Some(c.training.observation_noise.into()),
    ),
    limit("training.weight_decay", FRACTION, |c| {
        Some(c.training.weight_decay.into())
    }),
    limit(
        "training.cycle_budget_shadow_price_eur_per_mwh",
        Range::closed(0.0, 10_000.0),
        |c| Some(c.training.cycle_budget_shadow_price_eur_per_mwh),
    ),
    limit(
        "training.planner_lead_confidence",
        Range::below(0.0, 1.0),
        |c| Some(c.training.planner_lead_confidence),
    ),
    limit("training.weight_average_steps", COUNT0, |c| {
        Some(c.training.weight_average_steps as f64)
    }),
    limit("network.hidden (layers)", Range::closed(1.0, 16.0), |c| {
        Some(c.network.hidden.len() as f64)
    }),
    limit("network.hidden", WIDTH, |c| {
        c.network.hidden.iter().map(|&w| w as f64).reduce(f64::max)
    }),
    limit("network.iqn_head_hidden", WIDTH, |c| {
        c.network
            .iqn_head_hidden
            .iter()
            .map(|&w| w as f64)
            .reduce(f64::max)
    }),
    limit("distribution.quantiles", Range::closed(1.0, 1_024.0), |c| {
        Some(c.distribution.quantiles as f64)
    }),
    limit("distribution.atoms", Range::closed(2.0, 1_024.0), |c| {
        Some(c.distribution.atoms as f64)
    }),
    limit("distribution.kappa", Range::above(0.0, 1e6), |c| {
        Some(c.distribution.kappa.into())
    }),
    limit(
        "distribution.support.v_min",
        Range::closed(-1e9, 1e9),
        |c| match c.distribution.support {
            Support::Fixed { v_min, .. } => Some(v_min),
            Support::Auto => None,
        },
    ),
    limit(
        "distribution.support.v_max",
        Range::closed(-1e9, 1e9),
        |c| match c.distribution.support {
            Support::Fixed { v_max, .. } => Some(v_max),
            Support::Auto => None,
        },
    ),
    limit("distribution.iqn_n", Range::closed(1.0, 1_024.0), |c| {
        Some(c.distribution.iqn_n as f64)
    }),
    limit(
        "distribution.iqn_n_prime",
        Range::closed(1.0, 1_024.0),
        |c| Some(c.distribution.iqn_n_prime as f64),
    ),
    limit("distribution.iqn_k", Range::closed(1.0, 1_024.0), |c| {
        Some(c.distribution.iqn_k as f64)
    }),
    limit(
        "distribution.iqn_cosines",
        Range::closed(1.0, 1_024.0),
        |c| Some(c.distribution.iqn_cosines as f64),
    ),
    limit("sac.target_entropy_ratio", FRACTION, |c| {
        Some(c.sac.target_entropy_ratio)
    }),
    limit("sac.initial_alpha", Range::above(0.0, 1_000.0), |c| {
        Some(c.sac.initial_alpha.into())
    }),
    limit("sac.alpha_lr", Range::above(0.0, 1.0), |c| {
        Some(c.sac.alpha_lr.into())
    }),
    limit("sac.actor_lr_scale", Range::above(0.0, 1_000.0), |c| {
        Some(c.sac.actor_lr_scale.into())
    }),
    limit(
        "sac.continuous_target_entropy",
        Range::closed(-100.0, 100.0),
        |c| Some(c.sac.continuous_target_entropy),
    ),
];

/// The range of the setting at dotted `key` (training or battery), for documentation.
pub fn range_of(key: &str) -> Option<Range> {
    if let Some(battery) = key.strip_prefix("env.battery.") {
        return imbarb_sim::BATTERY_LIMITS
            .iter()
            .find(|l| l.key == battery)
            .map(|l| l.range);
    }
    TRAINING_LIMITS
        .iter()
        .find(|l| l.key == key)
        .map(|l| l.range)
}

/// The first setting of `config` outside its range.
pub fn check_ranges(config: &TrainConfig) -> Result<(), OutOfRange> {
    for l in TRAINING_LIMITS {
        if let Some(v) = (l.get)(config) {
            l.range.check(l.key, v)?;
        }
    }
    Ok(())
}

/// Refuses settings under which the run would never update its network, yet report a "best
/// validation": the first update needs `max(learning_starts, batch_size)` transitions in replay,
/// and replay never holds more than its capacity or the run's steps.
pub fn check_updates_happen(config: &TrainConfig) -> Result<(), String> {
    let t = &config.training;
    let needed = t.learning_starts.max(t.batch_size);
    let held = t.replay_capacity.min(t.total_steps);
    if needed > held {
        return Err(format!(
            "the run would never update its network: the first update needs {needed} transitions in replay (max of training.learning_starts = {} and training.batch_size = {}), but replay holds at most {held} (min of training.replay_capacity = {} and training.total_steps = {})",
            t.learning_starts, t.batch_size, t.replay_capacity, t.total_steps
        ));
    }
    Ok(())
}

/// What a run will hold in memory, roughly, and the setting that costs the most.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryEstimate {
    /// Bytes in all.
    pub bytes: f64,
    /// The part that costs the most, as (the setting that sizes it, bytes).
    pub largest: (&'static str, f64),
}

/// Estimates a run's memory from its config and observation width before anything is
/// allocated: replay (observations twice, masks, action, reward), the networks with their
/// targets and Adam moments, and one update's activations. Within a factor of about two of what
/// the process uses; what matters is refusing, with the figure, a config that needs hundreds of
/// GB before the allocation aborts the process.
pub fn memory_estimate(config: &TrainConfig, obs_width: usize) -> MemoryEstimate {
    let t = &config.training;
    let d = &config.distribution;
    let n = config.n_actions().max(1) as f64;
    let w = obs_width as f64;
    let replay = t.replay_capacity as f64 * (8.0 * w + 2.0 * n + 16.0);
    let outputs = match config.algo {
        Algo::Dqn | Algo::Sac | Algo::Iqn => n,
        Algo::C51 => n * d.atoms as f64,
        Algo::QrDqn | Algo::Dsac => n * d.quantiles as f64,
    };
    let mut widths: Vec<f64> = vec![w + 1.0];
    widths.extend(config.network.hidden.iter().map(|&h| h as f64));
    widths.push(outputs);
    let mut params: f64 = widths.windows(2).map(|p| (p[0] + 1.0) * p[1]).sum();
    let last = config.network.hidden.last().copied().unwrap_or(1) as f64;
    if config.algo == Algo::Iqn {
        params += (d.iqn_cosines as f64 + 1.0) * last;
        let head: Vec<f64> = std::iter::once(last)
            .chain(config.network.iqn_head_hidden.iter().map(|&h| h as f64))
            .chain(std::iter::once(n))
            .collect();
        params += head.windows(2).map(|p| (p[0] + 1.0) * p[1]).sum::<f64>();
    }
    // Online, target and two Adam moments per network (and a weight average); actor-critics
    // have twin critics and an actor.
    let copies = if matches!(config.algo, Algo::Sac | Algo::Dsac) {
        11.0
    } else {
        4.0
    } + if t.weight_average_steps > 0 { 1.0 } else { 0.0 };
    let networks = 4.0 * params * copies;
    let samples = match config.algo {
        Algo::Iqn => {
            (d.iqn_n + d.iqn_n_prime) as f64 * (1.0 + d.iqn_cosines as f64 / last.max(1.0))
        }
        Algo::Sac | Algo::Dsac => 4.0,
        _ => 2.0,
    };
    let activations = 4.0 * 3.0 * t.batch_size as f64 * widths.iter().sum::<f64>() * samples;
    let parts = [
        ("training.replay_capacity", replay),
        ("network.hidden", networks),
        ("training.batch_size", activations),
    ];
    let largest = parts
        .iter()
        .copied()
        .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a });
    MemoryEstimate {
        bytes: parts.iter().map(|p| p.1).sum(),
        largest,
    }
}

/// Refuses a run that would not fit in `available` bytes (the machine's memory), naming the
/// estimate and the setting that costs the most.
pub fn check_memory(config: &TrainConfig, obs_width: usize, available: f64) -> Result<(), String> {
    let need = memory_estimate(config, obs_width);
    if need.bytes > available {
        let gib = |b: f64| b / (1u64 << 30) as f64;
        return Err(format!(
            "the run needs about {:.1} GiB of memory ({:.1} GiB for {}), more than this machine's {:.1} GiB; lower {}",
            gib(need.bytes),
            gib(need.largest.1),
            need.largest.0,
            gib(available),
            need.largest.0
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped default fits in a gigabyte; a replay of a billion transitions or layers of
    /// 16k units do not, and the refusal names the setting that costs the most.
    #[test]
    fn memory_estimates_refuse_what_cannot_fit_and_name_the_cause() {
        let gib = (1u64 << 30) as f64;
        let config = TrainConfig::default();
        let base = memory_estimate(&config, 40);
        assert!(base.bytes > 1e7 && base.bytes < gib, "{base:?}");
        // 200k transitions x (8 x 40 + 2 x 3 + 16) bytes: replay by hand.
        assert_eq!(
            base.largest,
            ("training.replay_capacity", 200_000.0 * 342.0)
        );
        check_memory(&config, 40, gib).expect("fits");

        let mut huge = config.clone();
        huge.training.replay_capacity = 1_000_000_000;
        let e = check_memory(&huge, 40, 16.0 * gib).expect_err("342 GB of replay");
        assert!(
            e.contains("lower training.replay_capacity") && e.contains("318.5 GiB"),
            "{e}"
        );

        let mut wide = config;
        wide.network.hidden = vec![16_384; 8];
        wide.distribution.quantiles = 1_024;
        let e = check_memory(&wide, 40, 16.0 * gib).expect_err("wide");
        assert!(e.contains("lower network.hidden"), "{e}");
    }

    /// Replay that can never hold one batch, or a start later than the run: refused; the
    /// shipped default: fine.
    #[test]
    fn runs_that_would_never_update_are_refused() {
        let mut c = TrainConfig::default();
        check_updates_happen(&c).expect("default");
        c.training.replay_capacity = 1;
        assert!(check_updates_happen(&c).is_err());
        c.training.replay_capacity = 200_000;
        c.training.total_steps = 9_999;
        let e = check_updates_happen(&c).expect_err("starts after the end");
        assert!(e.contains("training.learning_starts = 10000"), "{e}");
        c.training.learning_starts = 0;
        c.training.batch_size = 10_000;
        assert!(check_updates_happen(&c).is_err());
    }
}
