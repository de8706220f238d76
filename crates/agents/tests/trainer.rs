//! The trainer end to end on a small synthetic market: training beats idle, the same seed gives
//! the same run, and an interrupted run resumes to exactly the uninterrupted result.

use imbarb_agents::config::{Algo, Deploy, ShadowPriceSchedule, TrainConfig};
use imbarb_agents::trainer::{load_best, read_manifest};
use imbarb_agents::{train, TrainOptions};
use imbarb_nn::Checkpoint;
use imbarb_sim::ActionSpace;
use std::path::Path;

mod common;

use common::{data, market, metrics, small_config, Market};

#[test]
fn training_beats_idle_in_seconds() {
    let three = ActionSpace::Discrete { levels: 3 };
    for (algo, actions) in [
        (Algo::QrDqn, three),
        (Algo::Dqn, three),
        (Algo::C51, three),
        (Algo::Iqn, three),
        (Algo::Sac, three),
        (Algo::Dsac, three),
        (Algo::Sac, ActionSpace::Continuous),
        (Algo::Dsac, ActionSpace::Continuous),
    ] {
        let mut config = small_config(algo, 8 * 96 * 24);
        config.env.actions = actions;
        let m = market(&config);
        let dir = tempfile::tempdir().unwrap();
        let out = train(&data(&m), &config, dir.path(), &TrainOptions::default()).unwrap();
        assert!(out.finished);
        let best = out.best.expect("validated");
        eprintln!(
            "{algo:?} {actions:?}: best validation {:.1} EUR/day",
            best.eur_per_day
        );
        // Idle earns exactly 0 EUR/day on the same validation days.
        assert!(
            best.eur_per_day > 0.0,
            "{algo:?} {actions:?}: best validation {:.1} EUR/day does not beat idle",
            best.eur_per_day
        );
        // The deployable checkpoint reproduces the recorded validation.
        let manifest = read_manifest(dir.path()).unwrap();
        assert_eq!(manifest.status, "finished");
        assert_eq!(manifest.best.as_ref(), Some(&best));
        assert_best_checkpoint_earns(dir.path(), &m, &config, best.eur_per_day);
    }
}

#[test]
fn same_seed_same_run_and_resume_is_exact() {
    // QR-DQN (epsilon-greedy, one network) and DSAC (sampled policy, twin critics, actor and
    // temperature; discrete levels and continuous power, whose replay holds fractions) cover
    // every kind of training state.
    let three = ActionSpace::Discrete { levels: 3 };
    // With weight averaging the average is training state too.
    for (algo, actions, average) in [
        (Algo::QrDqn, three, 0),
        (Algo::Dsac, three, 0),
        (Algo::Dsac, ActionSpace::Continuous, 0),
        (Algo::QrDqn, three, 2000),
    ] {
        same_seed_same_run_and_exact_resume(algo, actions, average);
    }
}

fn same_seed_same_run_and_exact_resume(algo: Algo, actions: ActionSpace, average: usize) {
    let mut config = small_config(algo, 8 * 96 * 6);
    config.env.actions = actions;
    config.training.weight_average_steps = average;
    let m = market(&config);
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    train(&data(&m), &config, a.path(), &TrainOptions::default()).unwrap();
    train(&data(&m), &config, b.path(), &TrainOptions::default()).unwrap();
    assert!(metrics(a.path()).len() >= 2);
    assert_eq!(
        metrics(a.path()),
        metrics(b.path()),
        "same seed, same metrics"
    );
    // Tensors and metadata compared (the file's header order is not canonical).
    let best = |d: &Path| Checkpoint::load(&d.join("checkpoints/best.safetensors")).unwrap();
    assert!(best(a.path()) == best(b.path()), "same seed, same network");

    // Interrupted after 3 rounds (1 validation and checkpoint at round 2), then resumed.
    let stop = TrainOptions {
        stop_after_rounds: Some(3),
        ..TrainOptions::default()
    };
    let first = train(&data(&m), &config, c.path(), &stop).unwrap();
    assert!(!first.finished);
    assert_eq!(read_manifest(c.path()).unwrap().status, "running");
    let second = train(&data(&m), &config, c.path(), &TrainOptions::default()).unwrap();
    assert!(second.finished);
    assert_eq!(
        metrics(c.path()),
        metrics(a.path()),
        "resumed run = uninterrupted run"
    );
    assert!(
        best(c.path()) == best(a.path()),
        "resumed run, same network"
    );

    // Asked to stop (a scheduler's signal) after its first round, before any validation: it
    // checkpoints that round, and the resumed run is again the uninterrupted one.
    let e = tempfile::tempdir().unwrap();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let asked = TrainOptions {
        stop: Some(flag),
        ..TrainOptions::default()
    };
    let first = train(&data(&m), &config, e.path(), &asked).unwrap();
    assert!(!first.finished);
    assert_eq!(first.steps, config.training.envs * 96);
    assert!(
        metrics(e.path()).is_empty(),
        "stopped before any validation"
    );
    assert!(
        e.path().join("checkpoints/latest.safetensors").is_file(),
        "the stop wrote a checkpoint"
    );
    let second = train(&data(&m), &config, e.path(), &TrainOptions::default()).unwrap();
    assert!(second.finished);
    assert_eq!(metrics(e.path()), metrics(a.path()));
    assert!(best(e.path()) == best(a.path()));

    // A finished run is not retrained; one left marked `running` (interrupted between its last
    // checkpoint and manifest) is marked finished, keeping the code version that trained it.
    let path = a.path().join("manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["status"] = "running".into();
    json["code_version"] = "trained-by-an-older-build".into();
    std::fs::write(&path, json.to_string()).unwrap();
    let before = metrics(a.path());
    let again = train(&data(&m), &config, a.path(), &TrainOptions::default()).unwrap();
    assert!(again.finished && again.updates_per_s == 0.0);
    let manifest = read_manifest(a.path()).unwrap();
    assert_eq!(manifest.status, "finished");
    assert_eq!(manifest.code_version, "trained-by-an-older-build");
    assert_eq!(metrics(a.path()), before);

    // Another seed differs; a different config in the same directory is refused.
    let mut other = config.clone();
    other.seed = 10;
    let d = tempfile::tempdir().unwrap();
    train(&data(&m), &other, d.path(), &TrainOptions::default()).unwrap();
    assert_ne!(metrics(d.path()), metrics(a.path()));
    let err = train(&data(&m), &other, a.path(), &TrainOptions::default()).unwrap_err();
    assert!(err.to_string().contains("different config"), "{err}");
}

/// Weight averaging changes what is validated and deployed, not what is learnt: the training
/// returns and losses of every round are those of the same seed without it, the validation
/// differs, and the best checkpoint is the averaged network that was validated.
#[test]
fn weight_averaging_deploys_the_average_and_leaves_learning_alone() {
    for algo in [Algo::QrDqn, Algo::Dsac] {
        let plain = small_config(algo, 8 * 96 * 12);
        let mut averaged = plain.clone();
        averaged.training.weight_average_steps = 3000;
        let m = market(&plain);
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        train(&data(&m), &plain, a.path(), &TrainOptions::default()).unwrap();
        let out = train(&data(&m), &averaged, b.path(), &TrainOptions::default()).unwrap();
        let (ma, mb) = (metrics(a.path()), metrics(b.path()));
        assert_eq!(ma.len(), mb.len());
        let learnt = |v: &[serde_json::Value]| -> Vec<(serde_json::Value, serde_json::Value)> {
            v.iter()
                .map(|l| (l["train_return_eur_per_day"].clone(), l["loss"].clone()))
                .collect()
        };
        assert_eq!(learnt(&ma), learnt(&mb), "{algo:?}: learning changed");
        let validated = |v: &[serde_json::Value]| -> Vec<f64> {
            v.iter()
                .map(|l| l["val_eur_per_day"].as_f64().unwrap())
                .collect()
        };
        assert_ne!(
            validated(&ma),
            validated(&mb),
            "{algo:?}: validation unchanged"
        );
        let best = out.best.expect("validated");
        assert_best_checkpoint_earns(b.path(), &m, &averaged, best.eur_per_day);
    }
}

/// `deploy = "final"` changes which validated network is deployed, nothing else: learning and
/// every validation are those of the default run, whose checkpoint is the validation maximum,
/// while the final run's is the last one validated (at `total_steps`).
#[test]
fn deploying_the_final_network_keeps_learning_and_picks_the_last_validation() {
    let best_config = small_config(Algo::QrDqn, 8 * 96 * 12);
    let mut final_config = best_config.clone();
    final_config.training.deploy = Deploy::Final;
    let m = market(&best_config);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let by_validation = train(&data(&m), &best_config, a.path(), &TrainOptions::default()).unwrap();
    let last = train(&data(&m), &final_config, b.path(), &TrainOptions::default()).unwrap();
    let without_flag = |v: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
        v.into_iter()
            .map(|mut l| {
                l.as_object_mut().unwrap().remove("best");
                l
            })
            .collect()
    };
    let (ma, mb) = (metrics(a.path()), metrics(b.path()));
    assert_eq!(without_flag(ma.clone()), without_flag(mb.clone()));
    let validations: Vec<(usize, f64)> = ma
        .iter()
        .map(|l| {
            (
                l["step"].as_u64().unwrap() as usize,
                l["val_eur_per_day"].as_f64().unwrap(),
            )
        })
        .collect();
    let &(last_step, last_eur) = validations.last().unwrap();
    let &(max_step, max_eur) = validations
        .iter()
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap();
    // The seed is chosen so the two rules disagree; otherwise the test would prove nothing.
    assert_ne!(max_step, last_step, "{validations:?}");
    let chosen = by_validation.best.unwrap();
    assert_eq!((chosen.step, chosen.eur_per_day), (max_step, max_eur));
    let deployed = last.best.unwrap();
    assert!(
        last_step >= final_config.training.total_steps,
        "{validations:?}"
    );
    assert_eq!((deployed.step, deployed.eur_per_day), (last_step, last_eur));
    assert!(mb.iter().all(|l| l["best"] == serde_json::json!(true)));
    assert_best_checkpoint_earns(a.path(), &m, &best_config, max_eur);
    assert_best_checkpoint_earns(b.path(), &m, &final_config, last_eur);
}

/// The run's best checkpoint, loaded as a deployed agent, earns `eur_per_day` on the validation
/// days: it is the network that was validated.
fn assert_best_checkpoint_earns(dir: &Path, m: &Market, config: &TrainConfig, eur_per_day: f64) {
    let (mut agent, _) = load_best(dir).unwrap();
    let (daily, _) =
        imbarb_agents::trainer::validate(agent.as_mut(), &data(m), config, &m.validation).unwrap();
    let again = daily.iter().sum::<f64>() / daily.len() as f64;
    assert!(
        (again - eur_per_day).abs() < 1e-6,
        "{:?}: the best checkpoint earns {again}, its validation said {eur_per_day}",
        config.algo
    );
}

#[test]
fn a_capped_run_learns_with_n_step_with_cap() {
    // Unresolved configs straight to the trainer: `n_step_with_cap` must reach the returns.
    let mut split = small_config(Algo::QrDqn, 8 * 96 * 3);
    split.env.battery.cycles_per_day = Some(1.1);
    split.training.n_step = 1;
    split.training.n_step_with_cap = Some(5);
    let mut five = split.clone();
    five.training.n_step = 5;
    five.training.n_step_with_cap = None;
    let mut one = five.clone();
    one.training.n_step = 1;
    let m = market(&split);
    let run = |c: &TrainConfig| {
        let d = tempfile::tempdir().unwrap();
        train(&data(&m), c, d.path(), &TrainOptions::default()).unwrap();
        metrics(d.path())
    };
    let (split, five, one) = (run(&split), run(&five), run(&one));
    assert!(split.len() >= 2);
    assert_eq!(
        split, five,
        "with a cap: the n_step_with_cap run is the 5-step run"
    );
    assert_ne!(split, one, "and not the 1-step one");
}

#[test]
fn the_next_day_bootstrap_observation_is_what_the_environment_shows() {
    let mut config = small_config(Algo::QrDqn, 1000);
    config.env.battery.cycles_per_day = Some(1.1);
    let m = market(&config);
    let d = data(&m);
    let w = m.features.observation_width();
    let (mut obs, mut mask) = (vec![0.0f32; w], vec![false; 3]);
    let mut env = imbarb_sim::VecEnv::new(&m.days, &m.features, config.env.clone()).unwrap();
    for (day, soc) in [(0usize, 0.2f64), (10, 1.7), (40, 2.0)] {
        assert!(imbarb_agents::trainer::next_day_start(
            &d, &config, day, soc, &mut obs, &mut mask
        ));
        env.reset(&[day + 1], &[soc]);
        assert_eq!(obs, env.observations(), "day {day}");
        assert_eq!(mask, env.masks(), "day {day}");
    }
    // The last day has no successor: the episode ends there.
    let last = m.days.days.len() - 1;
    assert!(!imbarb_agents::trainer::next_day_start(
        &d, &config, last, 1.0, &mut obs, &mut mask
    ));
}

#[test]
fn the_shadow_price_of_each_decision_follows_its_schedule_through_the_day() {
    let config = small_config(Algo::QrDqn, 1000);
    let m = market(&config);
    let mut env = imbarb_sim::VecEnv::new(&m.days, &m.features, config.env.clone()).unwrap();
    env.reset(&[0, 1], &[1.0, 1.0]);
    let n = env.n_steps(0);
    let prices = |env: &imbarb_sim::VecEnv, schedule| {
        imbarb_agents::trainer::shadow_prices(env, 60.0, schedule)
    };
    assert_eq!(prices(&env, ShadowPriceSchedule::Fading), vec![60.0, 60.0]);
    let idle = vec![imbarb_sim::Action::Discrete(1); 2];
    for _ in 0..n / 4 {
        env.step_actions(&idle);
    }
    // A quarter of the day gone: the fading price is three quarters of the flat one (each env
    // by its own day's length).
    assert_eq!(env.step_index(0), n / 4);
    let expected: Vec<f64> = (0..2)
        .map(|i| 60.0 * (env.n_steps(i) - n / 4) as f64 / env.n_steps(i) as f64)
        .collect();
    assert!((expected[0] - 45.0).abs() < 1.0);
    assert_eq!(prices(&env, ShadowPriceSchedule::Fading), expected);
    assert_eq!(prices(&env, ShadowPriceSchedule::Flat), vec![60.0; 2]);
}
