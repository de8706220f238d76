//! Actor-critic learning checks with known answers: on a one-step bandit with fixed rewards the
//! entropy-regularised optimum is pi(a) = softmax(r / alpha) in closed form, the temperature
//! settles where the policy's entropy meets its target, and on an equal-mean bandit a
//! risk-averse DSAC moves its policy to the narrow arm while the neutral one stays indifferent.
//! The continuous-power agents face the same questions on a bandit over a in [-1, 1].

use imbarb_agents::config::{Algo, SacGreedy, TargetUpdate, TrainConfig};
use imbarb_agents::replay::Batch;
use imbarb_agents::sac::Sac;
use imbarb_agents::sac_continuous::ContinuousSac;
use imbarb_agents::ValueAgent;
use imbarb_risk::RiskMeasure;
use imbarb_sim::ActionSpace;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const S: [f32; 2] = [1.0, 0.0];

fn config(algo: Algo, levels: usize, risk: RiskMeasure) -> TrainConfig {
    let mut c = TrainConfig {
        algo,
        risk,
        seed: 5,
        ..TrainConfig::default()
    };
    c.env.actions = ActionSpace::Discrete { levels };
    c.network.hidden = vec![32, 32];
    c.training.lr = 1e-3;
    c.training.reward_scale = 1.0;
    c.training.grad_clip = 0.0;
    c.training.target = TargetUpdate::Hard { period: 50 };
    c.distribution.quantiles = 16;
    c.distribution.kappa = 0.05;
    c
}

/// A one-step bandit batch: uniformly random actions (SAC learns off-policy), rewards from
/// `reward`, every transition terminal.
fn bandit_batch(
    rng: &mut ChaCha8Rng,
    size: usize,
    actions: usize,
    reward: impl Fn(usize, &mut ChaCha8Rng) -> f32,
) -> Batch {
    let mut b = Batch {
        size,
        ..Batch::default()
    };
    for _ in 0..size {
        let a = rng.gen_range(0..actions);
        b.obs.extend_from_slice(&S);
        b.masks.extend(std::iter::repeat_n(true, actions));
        b.actions.push(a);
        b.rewards.push(reward(a, rng));
        b.discounts.push(0.0);
        b.next_obs.extend_from_slice(&S);
        b.next_masks.extend(std::iter::repeat_n(true, actions));
    }
    b
}

const REWARDS: [f32; 3] = [1.0, 0.5, 0.0];

fn train(
    sac: &mut Sac,
    updates: usize,
    actions: usize,
    reward: impl Fn(usize, &mut ChaCha8Rng) -> f32,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for _ in 0..updates {
        let b = bandit_batch(&mut rng, 64, actions, &reward);
        sac.update(&b, &mut rng);
    }
}

#[test]
fn discrete_sac_converges_to_the_soft_optimal_policy() {
    // With alpha fixed at 0.5, the optimum of E_pi[r] + alpha H(pi) is softmax(r / 0.5) =
    // softmax(2, 1, 0) = (0.665, 0.245, 0.090).
    let mut c = config(Algo::Sac, 3, RiskMeasure::Mean);
    c.sac.auto_alpha = false;
    c.sac.initial_alpha = 0.5;
    let mut sac = Sac::new(&c, 2).expect("agent");
    train(&mut sac, 3000, 3, |a, _| REWARDS[a]);
    let p = sac.policy_probabilities(&S, &[]);
    let z: f32 = REWARDS.iter().map(|r| (r / 0.5).exp()).sum();
    for (a, got) in p.iter().enumerate() {
        let want = (REWARDS[a] / 0.5).exp() / z;
        assert!(
            (got - want).abs() < 0.03,
            "pi {p:?}, want softmax(r / alpha)"
        );
    }
    // A masked action gets no probability, and the rest renormalise.
    let masked = sac.policy_probabilities(&S, &[false, true, true]);
    assert_eq!(masked[0], 0.0);
    assert!((masked[1] + masked[2] - 1.0).abs() < 1e-6);
}

#[test]
fn the_temperature_drives_the_entropy_to_its_target() {
    // Target: 0.5 ln 3 = 0.549 nats. Starting at alpha = 1 (entropy near ln 3), alpha must fall
    // until the soft-optimal policy softmax(r / alpha) has that entropy.
    let mut c = config(Algo::Sac, 3, RiskMeasure::Mean);
    c.sac.initial_alpha = 1.0;
    c.sac.alpha_lr = 1e-2;
    c.sac.target_entropy_ratio = 0.5;
    let mut sac = Sac::new(&c, 2).expect("agent");
    train(&mut sac, 4000, 3, |a, _| REWARDS[a]);
    let p = sac.policy_probabilities(&S, &[]);
    let h: f32 = -p.iter().map(|x| x * x.ln()).sum::<f32>();
    let target = 0.5 * 3f32.ln();
    assert!(
        (h - target).abs() < 0.06,
        "entropy {h:.3} vs target {target:.3} (alpha {:.3})",
        sac.alpha()
    );
    assert!(sac.alpha() < 0.9, "alpha {} did not fall", sac.alpha());
}

/// Arm 0 pays uniform on +-0.17, arm 1 pays +-1: equal means, different spreads.
fn equal_means(a: usize, rng: &mut ChaCha8Rng) -> f32 {
    if a == 0 {
        rng.gen_range(-0.17f32..0.17)
    } else if rng.gen_bool(0.5) {
        1.0
    } else {
        -1.0
    }
}

#[test]
fn a_risk_averse_dsac_prefers_the_narrow_arm_and_a_neutral_one_is_indifferent() {
    // Acting greedily on the critics (`sac.greedy = "critic"`) scores each arm by the risk
    // measure of its learnt distribution: the narrow arm's mean + 3 VaR_0.1 is about -0.14, the
    // wide arm's -3.
    let run = |risk: RiskMeasure| {
        let mut c = config(Algo::Dsac, 2, risk);
        c.sac.auto_alpha = false;
        c.sac.initial_alpha = 0.1;
        c.sac.greedy = SacGreedy::Critic;
        let mut sac = Sac::new(&c, 2).expect("agent");
        train(&mut sac, 1500, 2, equal_means);
        let mut scores = vec![];
        sac.scores(&S, 1, &mut scores);
        (sac.policy_probabilities(&S, &[]), scores)
    };
    for risk in [
        RiskMeasure::MeanPlusVar {
            alpha: 0.1,
            beta: 3.0,
        },
        RiskMeasure::Cvar { alpha: 0.1 },
    ] {
        let (p, scores) = run(risk);
        assert!(p[0] > 0.95, "{risk:?}: pi {p:?} should pick the narrow arm");
        assert!(
            scores[0] > scores[1] + 0.5,
            "{risk:?}: critic scores {scores:?} should rank the narrow arm first"
        );
    }
    let (p, scores) = run(RiskMeasure::Mean);
    assert!(
        (scores[0] - scores[1]).abs() < 0.1,
        "neutral critic scores {scores:?}: equal means"
    );
    assert!(
        (0.25..=0.75).contains(&p[0]),
        "neutral pi {p:?} should be near (0.5, 0.5)"
    );
}

/// A one-step bandit over continuous actions: uniformly random a in [-1, 1], rewards from
/// `reward`, every transition terminal.
fn continuous_batch(
    rng: &mut ChaCha8Rng,
    size: usize,
    reward: &impl Fn(f32, &mut ChaCha8Rng) -> f32,
) -> Batch {
    let mut b = Batch {
        size,
        ..Batch::default()
    };
    for _ in 0..size {
        let a = rng.gen_range(-1.0f32..1.0);
        b.obs.extend_from_slice(&S);
        b.actions.push(0);
        b.fractions.push(a);
        b.rewards.push(reward(a, rng));
        b.discounts.push(0.0);
        b.next_obs.extend_from_slice(&S);
    }
    b
}

fn continuous_agent(algo: Algo, risk: RiskMeasure) -> (TrainConfig, ContinuousSac) {
    let mut c = config(algo, 2, risk);
    c.env.actions = ActionSpace::Continuous;
    c.check().expect("continuous actor-critic config");
    let agent = ContinuousSac::new(&c, 2).expect("agent");
    (c, agent)
}

fn train_continuous(
    agent: &mut ContinuousSac,
    updates: usize,
    reward: impl Fn(f32, &mut ChaCha8Rng) -> f32,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    for _ in 0..updates {
        let b = continuous_batch(&mut rng, 64, &reward);
        agent.update(&b, &mut rng);
    }
}

fn greedy(agent: &mut ContinuousSac) -> f32 {
    agent.greedy_actions(&S, 1)[0]
}

#[test]
fn continuous_sac_finds_the_best_power_and_its_temperature_meets_the_target_entropy() {
    // r(a) = 1 - 4 (a - 0.5)^2 peaks at a = 0.5. With the target entropy at -2.5 nats the policy
    // narrows (a Gaussian of that entropy has sigma ~ 0.02) and alpha settles where the sampled
    // entropy -log pi meets it.
    let (mut c, _) = continuous_agent(Algo::Sac, RiskMeasure::Mean);
    c.sac.initial_alpha = 0.2;
    c.sac.alpha_lr = 1e-2;
    c.sac.continuous_target_entropy = -2.5;
    let mut agent = ContinuousSac::new(&c, 2).expect("agent");
    train_continuous(&mut agent, 3000, |a, _| 1.0 - 4.0 * (a - 0.5) * (a - 0.5));
    let a = greedy(&mut agent);
    assert!((a - 0.5).abs() < 0.05, "greedy power {a}, want 0.5");
    // The critics know what the greedy power earns: r(0.5) = 1.
    let mut scores = vec![];
    agent.scores(&S, 1, &mut scores);
    assert!((scores[0] - 1.0).abs() < 0.1, "critic score {scores:?}");
    let d = agent.distributions(&S);
    assert_eq!(d.len(), 1);
    assert!(
        (d[0].mean() - 1.0).abs() < 0.1,
        "critic mean {}",
        d[0].mean()
    );
    // Acting on the critics instead picks the best of 21 powers: 0.5 is on the grid.
    c.sac.greedy = SacGreedy::Critic;
    let mut on_critic = ContinuousSac::new(&c, 2).expect("agent");
    train_continuous(&mut on_critic, 3000, |a, _| {
        1.0 - 4.0 * (a - 0.5) * (a - 0.5)
    });
    let a = greedy(&mut on_critic);
    assert!((a - 0.5).abs() < 0.11, "critic-greedy power {a}, want 0.5");
    let entropy = agent.diagnostics()[1].1;
    assert!(
        (entropy + 2.5).abs() < 0.3,
        "sampled entropy {entropy:.3} vs target -2.5 (alpha {:.4})",
        agent.alpha()
    );
    assert!(agent.alpha() < 0.2, "alpha {} did not fall", agent.alpha());
}

/// Every action pays 0 on average, with a spread that shrinks linearly from +-1 at a = -1 to
/// +-0.1 at a = 1.
fn spread_falls_with_power(a: f32, rng: &mut ChaCha8Rng) -> f32 {
    let half_width = 0.1 + 0.9 * (1.0 - a) / 2.0;
    if rng.gen_bool(0.5) {
        half_width
    } else {
        -half_width
    }
}

#[test]
fn a_risk_averse_continuous_dsac_moves_to_the_narrow_end_and_a_neutral_one_stays_central() {
    let run = |risk: RiskMeasure| {
        let (mut c, _) = continuous_agent(Algo::Dsac, risk);
        c.sac.auto_alpha = false;
        c.sac.initial_alpha = 0.05;
        let mut agent = ContinuousSac::new(&c, 2).expect("agent");
        train_continuous(&mut agent, 2000, spread_falls_with_power);
        greedy(&mut agent)
    };
    for risk in [
        RiskMeasure::MeanPlusVar {
            alpha: 0.1,
            beta: 3.0,
        },
        RiskMeasure::Cvar { alpha: 0.1 },
    ] {
        let a = run(risk);
        assert!(
            a > 0.8,
            "{risk:?}: greedy power {a} should move to the narrow end"
        );
    }
    let a = run(RiskMeasure::Mean);
    assert!(
        a.abs() < 0.5,
        "neutral greedy power {a}: all means are equal"
    );
}
