//! The planner a run observes, acting alone (`run-plan:<dir>`, the baseline a residual agent
//! adjusts): on real test days every decision is the plan's move at the battery's state of
//! charge, the plan rebuilt for that one quarter-hour from the run's saved forecaster (the path
//! `decide` takes, not the backtest's precomputed columns), or the allowed level nearest to it.
//! The `plan` baseline (its own forecaster, the plan at the exact state of charge) agrees with
//! it, and under a cap fits its cycle price on the training days.

use imbarb_agents::trainer::{read_manifest, MetricsLine};
use imbarb_agents::{train, TrainConfig, TrainOptions};
use imbarb_eval::Oracle;
use imbarb_experiment::{build_setup, make_policy, DaySet, PolicySpec, Setup};
use imbarb_market::source::DataSource;
use imbarb_market::SplitSpec;
use imbarb_plan::{ForecastConfig, PlanColumns, PlanPolicy};
use imbarb_sim::{rollout, Action, Decision, Policy};
use std::path::Path;

mod common;
use common::{Recording, Taken};

/// The embedded prices on the paper split, evaluated on `days`.
fn paper_setup(env: imbarb_sim::EnvConfig, days: DaySet) -> Setup {
    let sources: Vec<DataSource> = vec!["belgium".parse().unwrap()];
    build_setup(&sources, &SplitSpec::Paper, env, 0, days).unwrap()
}

/// A brief QR-DQN config on the embedded prices (paper split) observing a small forecaster of
/// `horizon` quarter-hours and a planner over it (`plan`: more `[forecast_features.plan]` keys),
/// changed by `tweak`, and the validation setup it trains on, the forecast observed.
fn plan_run_setup(
    horizon: usize,
    plan: &str,
    tweak: impl FnOnce(&mut TrainConfig),
) -> (TrainConfig, Setup) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let base = std::fs::read_to_string(root.join("configs/qrdqn.toml")).unwrap();
    let text = format!(
        "{base}\n[forecast_features]\nhorizon = 4\nlevels = [0.25, 0.5, 0.75]\n\
         [forecast_features.forecaster]\nhorizon = {horizon}\nquantiles = 3\nhidden = [16]\nsteps = 400\nvalidate_every = 200\n\
         [forecast_features.plan]\nhorizon = {horizon}\n{plan}\n"
    );
    let mut config: TrainConfig = toml::from_str(&text).unwrap();
    (config.training.total_steps, config.training.learning_starts) = (3000, 1000);
    (config.training.validate_every, config.training.envs) = (3000, 8);
    config.network.hidden = vec![16];
    tweak(&mut config);
    config.resolve_for_cap();
    config.check().unwrap();
    let mut fit = paper_setup(config.env.clone(), DaySet::Validation);
    let spec = config.forecast_features.clone().unwrap();
    fit.observe_forecast(&spec, None).unwrap();
    (config, fit)
}

/// Trains `plan_run_setup`'s run; returns its folder's guard, the run, its config and the setup
/// it trained on.
fn train_plan_run(
    horizon: usize,
    plan: &str,
) -> (tempfile::TempDir, std::path::PathBuf, TrainConfig, Setup) {
    let (config, fit) = plan_run_setup(horizon, plan, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&fit.train_data(), &config, &run, &TrainOptions::default()).unwrap();
    (dir, run, config, fit)
}

#[test]
fn the_plan_policy_acts_the_plans_move_at_the_battery_state() {
    let (dir, run, config, fit) = train_plan_run(8, "soc_points = 5\nresidual = true");
    let spec = config.forecast_features.clone().unwrap();
    let train_data = fit.train_data();

    // The residual run's first validation is its planner alone: what the run's plan earns in
    // a backtest of the validation days.
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    assert_eq!(first["step"], 0);
    let fit_oracle = Oracle::solve(&fit.days, &fit.eval, &fit.config).unwrap();
    let mut plan_alone =
        make_policy(&PolicySpec::RunPlan(run.clone()), &fit, &fit_oracle, 16).unwrap();
    let mut earned = 0.0;
    rollout(
        &fit.days,
        &fit.features,
        &fit.config,
        train_data.validation,
        plan_alone.as_mut(),
        |s| earned += s.reward_eur,
    )
    .unwrap();
    let plan_validation = earned / train_data.validation.len() as f64;
    let at_zero = first["val_eur_per_day"].as_f64().unwrap();
    assert!(
        (at_zero - plan_validation).abs() < 1e-6,
        "{at_zero} vs {plan_validation}"
    );
    let best = read_manifest(&run).unwrap().best.unwrap();
    eprintln!(
        "plan on validation days {plan_validation:.1}; deployed step {} at {:.1}",
        best.step, best.eur_per_day
    );

    let test = paper_setup(config.env.clone(), DaySet::Test);
    let oracle = Oracle::solve(&test.days, &test.eval, &test.config).unwrap();
    // Deployed: the planner itself (then it acts as the plan does), or a network that
    // validated higher.
    if best.step == 0 {
        let mut both = Both {
            acting: make_policy(&PolicySpec::Run(run.clone()), &test, &oracle, 16).unwrap(),
            other: make_policy(&PolicySpec::RunPlan(run.clone()), &test, &oracle, 16).unwrap(),
            same: 0,
            total: 0,
        };
        rollout(
            &test.days,
            &test.features,
            &test.config,
            &test.eval[..5],
            &mut both,
            |_| {},
        )
        .unwrap();
        assert_eq!(
            both.same, both.total,
            "the deployed planner acts as the plan"
        );
    } else {
        assert!(best.eur_per_day > plan_validation);
    }
    let chosen = &test.eval[..5];
    let mut policy = Recording::new(
        make_policy(&PolicySpec::RunPlan(run.clone()), &test, &oracle, 16).unwrap(),
        &test.days,
    );
    assert!(policy.name().contains("plan:run"), "{}", policy.name());
    let mut profit = 0.0;
    rollout(
        &test.days,
        &test.features,
        &test.config,
        chosen,
        &mut policy,
        |s| profit += s.reward_eur,
    )
    .unwrap();

    let manifest = read_manifest(&run).unwrap();
    let forecaster = manifest.forecaster(&run).unwrap().unwrap();
    let plan = spec.plan.clone().unwrap();
    let b = &config.env.battery;
    let mut by_level = [0usize; 3];
    let mut fallbacks = 0;
    for t in &policy.taken {
        let (date, g, soc, mask, action) = (&t.date, &t.g, &t.state.soc_mwh, &t.mask, &t.action);
        let columns = spec
            .decision(&forecaster, &test.days, b, *date, *g)
            .unwrap();
        let planned =
            level_of(plan.planned_move(&columns[columns.len() - plan.width()..], b, *soc));
        // Masked: waiting (the nearest level) is always allowed in the middle.
        let want = if mask[planned] {
            planned
        } else {
            fallbacks += 1;
            1
        };
        assert_eq!(
            *action,
            Action::Discrete(want),
            "{date} grid {g}, soc {soc}"
        );
        by_level[want] += 1;
    }
    assert_eq!(
        policy.taken.len(),
        chosen
            .iter()
            .map(|&d| test.days.days[d].n_qh())
            .sum::<usize>()
    );
    assert!(
        by_level.iter().all(|&n| n > 0),
        "the plan charges, waits and discharges: {by_level:?}"
    );
    eprintln!(
        "plan alone: {by_level:?} per level, {fallbacks} masked, {profit:.1} EUR over 5 days"
    );
    // A run without plan columns has no planner to follow.
    let mut plain = config.clone();
    plain.forecast_features = None;
    let other = dir.path().join("plain");
    let setup = paper_setup(plain.env.clone(), DaySet::Validation);
    train(
        &setup.train_data(),
        &plain,
        &other,
        &TrainOptions::default(),
    )
    .unwrap();
    let err = make_policy(&PolicySpec::RunPlan(other.clone()), &test, &oracle, 16)
        .err()
        .expect("no planner")
        .to_string();
    let chain = format!("{err:#}");
    assert!(chain.contains("planner of trained run"), "{chain}");
}

/// The level of 3 a plan's move is: full charge, wait, full discharge.
fn level_of(m: imbarb_plan::plan_columns::Move) -> usize {
    match m {
        imbarb_plan::plan_columns::Move::Charge => 0,
        imbarb_plan::plan_columns::Move::Wait => 1,
        imbarb_plan::plan_columns::Move::Discharge => 2,
    }
}

/// The plan `columns` over the small forecaster fitted on `test`'s training days.
fn small_plan(test: &Setup, columns: &PlanColumns) -> PlanPolicy {
    PlanPolicy::fit(
        &test.days,
        &test.features,
        &test.config,
        &test.train,
        &small_forecaster(),
        None,
        columns,
    )
    .unwrap()
}

/// `small_plan`, recording its decisions.
fn recorded_plan<'a>(test: &'a Setup, columns: &PlanColumns) -> Recording<'a> {
    Recording::new(Box::new(small_plan(test, columns)), &test.days)
}

/// The level the plan over `prices` (stored energy valued at `terminal`) moves to at recorded
/// decision `t`'s state of charge, or waiting where `t`'s mask forbids it.
fn plans_level(
    prices: &[f64],
    battery: &imbarb_sim::BatteryConfig,
    terminal: f64,
    t: &Taken,
) -> usize {
    let v = imbarb_plan::plan_columns::advantages(prices, battery, terminal, &[t.state.soc_mwh]);
    let planned = level_of(imbarb_plan::plan_columns::best_move(v[0], v[1]));
    if t.mask[planned] {
        planned
    } else {
        1
    }
}

/// The mean of `model`'s three levels for each quarter-hour ahead at recorded decision `t`
/// (`inputs`: its features on `days`).
fn expected_at(
    model: &dyn imbarb_plan::QuantileModel,
    inputs: &imbarb_sim::MarketFeatures,
    days: &imbarb_sim::MarketDays,
    t: &Taken,
) -> Vec<f64> {
    let d = days.days.iter().position(|x| x.date == t.date).unwrap();
    let qh = t.g - days.days[d].grid_offset;
    let mut expected = vec![];
    model
        .for_each_quantiles(inputs.row(d, qh), &mut |_, q| {
            expected = q.chunks(3).map(|l| l.iter().sum::<f64>() / 3.0).collect();
        })
        .unwrap();
    expected
}

/// Two policies shown the same decisions (the first acts): how often they agree.
struct Both {
    acting: Box<dyn Policy>,
    other: Box<dyn Policy>,
    same: usize,
    total: usize,
}

impl Policy for Both {
    fn name(&self) -> String {
        self.acting.name()
    }

    fn act(&mut self, d: &Decision) -> Action {
        let a = self.acting.act(d);
        self.same += usize::from(self.other.act(d) == a);
        self.total += 1;
        a
    }
}

fn small_forecaster() -> ForecastConfig {
    ForecastConfig {
        horizon: 4,
        quantiles: 3,
        hidden: vec![16],
        steps: 400,
        validate_every: 200,
        ..ForecastConfig::default()
    }
}

#[test]
fn the_plan_baseline_acts_as_the_plan_a_run_observes() {
    let (_dir, run, config, _) = train_plan_run(4, "soc_points = 101");
    let spec = config.forecast_features.clone().unwrap();
    assert_eq!(spec.forecaster, small_forecaster());

    let test = paper_setup(config.env.clone(), DaySet::Test);
    let oracle = Oracle::solve(&test.days, &test.eval, &test.config).unwrap();
    let baseline = small_plan(&test, spec.plan.as_ref().unwrap());
    let mut both = Both {
        acting: make_policy(&PolicySpec::RunPlan(run), &test, &oracle, 4).unwrap(),
        other: Box::new(baseline),
        same: 0,
        total: 0,
    };
    let chosen = &test.eval[..10];
    rollout(
        &test.days,
        &test.features,
        &test.config,
        chosen,
        &mut both,
        |_| {},
    )
    .unwrap();
    // The same forecaster and plan; the run's read between states of charge 1 % apart.
    eprintln!(
        "plan baseline and the run's plan: {} of {} decisions equal",
        both.same, both.total
    );
    assert!(both.total >= 10 * 92);
    assert!(
        both.same as f64 >= 0.97 * both.total as f64,
        "{} of {}",
        both.same,
        both.total
    );
}

#[test]
fn under_a_cap_the_plan_baseline_fits_its_cycle_price_on_training_days() {
    let mut env = imbarb_sim::EnvConfig::default();
    env.battery.cycles_per_day = Some(1.1);
    let s = paper_setup(env, DaySet::Test);
    let plan = PlanColumns {
        horizon: 4,
        ..PlanColumns::default()
    };
    let mut policy = PlanPolicy::fit(
        &s.days,
        &s.features,
        &s.config,
        &s.train,
        &small_forecaster(),
        None,
        &plan,
    )
    .unwrap();
    let chosen = policy.cycle_price_eur_per_mwh();
    assert!(
        imbarb_plan::plan_policy::CYCLE_PRICES_TRIED.contains(&chosen),
        "{chosen}"
    );
    assert!(
        policy.name().contains(&format!("cycle price {chosen}")),
        "{}",
        policy.name()
    );
    let earned = |policy: &mut PlanPolicy, price: f64| {
        policy.set_cycle_price(&s.config.battery, price);
        let mut total = 0.0;
        rollout(&s.days, &s.features, &s.config, &s.train, policy, |r| {
            total += r.reward_eur
        })
        .unwrap();
        total
    };
    let best = earned(&mut policy, chosen);
    let free = earned(&mut policy, 0.0);
    for price in imbarb_plan::plan_policy::CYCLE_PRICES_TRIED {
        assert!(
            earned(&mut policy, price) <= best,
            "price {price} earns more than {chosen}"
        );
    }
    eprintln!("cycle price {chosen}: {best:.0} EUR on training days, {free:.0} without a price");
}

/// `plan-mpc-rolling-terminal`: every decision is the move of the plan over the rolling MPC's
/// forecast at the battery's state of charge, stored energy valued at that day's window mean
/// times the discharge efficiency (recomputed here one decision at a time), and the valuation
/// matters: the plan valuing it at the training mean moves otherwise on some quarter-hours.
#[test]
fn the_plan_following_the_market_values_stored_energy_from_each_days_window() {
    let test = paper_setup(imbarb_sim::EnvConfig::default(), DaySet::Test);
    let plan = |terminal_from_window| {
        let columns = PlanColumns {
            horizon: 4,
            rolling_mpc_days: Some(14),
            terminal_from_window,
            ..PlanColumns::default()
        };
        recorded_plan(&test, &columns)
    };
    let mut policy = plan(true);
    assert!(
        policy.name().contains("value of stored energy"),
        "{}",
        policy.name()
    );
    // What `--policy plan-mpc-rolling-terminal:14` builds.
    assert_eq!(
        "plan-mpc-rolling-terminal:14".parse::<PolicySpec>(),
        Ok(PolicySpec::PlanMpcRollingTerminal(14))
    );
    let chosen = &test.eval[20..26];
    let mut at_mean = plan(false);
    for p in [&mut policy, &mut at_mean] {
        rollout(&test.days, &test.features, &test.config, chosen, p, |_| {}).unwrap();
    }
    let actions = |r: &Recording| r.taken.iter().map(|t| t.action).collect::<Vec<_>>();
    assert_ne!(
        actions(&policy),
        actions(&at_mean),
        "the window's value of stored energy changed no decision"
    );
    let b = test.config.battery;
    let rule = imbarb_sim::DayAheadRule::default();
    let mut terminals = std::collections::BTreeSet::new();
    for t in &policy.taken {
        let prices = imbarb_baselines::mpc_rolling::rolling_forecast_at(
            &test.days, 14, 4, b, &rule, t.date, t.g,
        )
        .unwrap();
        let terminal =
            imbarb_baselines::mpc_rolling::rolling_terminal(&test.days, 14, &b, t.date).unwrap();
        terminals.insert(terminal.to_bits());
        let want = plans_level(&prices, &b, terminal, t);
        assert_eq!(t.action, Action::Discrete(want), "{} grid {}", t.date, t.g);
    }
    assert_eq!(
        terminals.len(),
        chosen.len(),
        "one value of stored energy per day"
    );
}

/// `rolling_mpc_weight`: the plan over the rolling MPC's forecast weighed with the forecaster's
/// expected prices acts, at every decision, the plan's move over that weighted mean (recomputed
/// here from the MPC's forecast and a refit of the same seeded forecaster), stored energy at the
/// training mean; and the weight matters: the MPC's forecast alone and the forecaster's alone
/// each move otherwise on some quarter-hours.
#[test]
fn the_plan_weighing_two_forecasts_acts_on_their_weighted_mean() {
    use imbarb_plan::{Forecaster, QuantileModel};
    let test = paper_setup(imbarb_sim::EnvConfig::default(), DaySet::Test);
    let columns = |w| PlanColumns {
        horizon: 4,
        rolling_mpc_days: Some(14),
        rolling_mpc_weight: w,
        ..PlanColumns::default()
    };
    let plan = |w| recorded_plan(&test, &columns(w));
    let chosen = &test.eval[20..24];
    let mut runs = [plan(0.5), plan(1.0), plan(0.0)];
    for p in runs.iter_mut() {
        rollout(&test.days, &test.features, &test.config, chosen, p, |_| {}).unwrap();
    }
    let [blended, mpc, forecaster] = &runs;
    assert!(
        blended.name().contains("(weight 0.5) and the forecaster"),
        "{}",
        blended.name()
    );
    let actions = |r: &Recording| r.taken.iter().map(|t| t.action).collect::<Vec<_>>();
    assert_ne!(
        actions(blended),
        actions(mpc),
        "the forecaster's half changed nothing"
    );
    assert_ne!(
        actions(blended),
        actions(forecaster),
        "the MPC's half changed nothing"
    );
    let model = Forecaster::fit(&test.days, &test.train, &small_forecaster(), None).unwrap();
    let inputs = model.features_for(&test.days).unwrap();
    let b = test.config.battery;
    let terminal = columns(0.5).terminal_eur_per_mwh(model.price_scale().0, &b);
    let rule = imbarb_sim::DayAheadRule::default();
    for t in &blended.taken {
        let expected = expected_at(&model, &inputs, &test.days, t);
        let rolling = imbarb_baselines::mpc_rolling::rolling_forecast_at(
            &test.days, 14, 4, b, &rule, t.date, t.g,
        )
        .unwrap();
        let prices: Vec<f64> = rolling
            .iter()
            .zip(&expected)
            .map(|(m, f)| 0.5 * m + 0.5 * f)
            .collect();
        let want = plans_level(&prices, &b, terminal, t);
        assert_eq!(t.action, Action::Discrete(want), "{} grid {}", t.date, t.g);
    }
    assert_eq!(blended.taken.len(), chosen.len() * 96);
}

/// `planner_lead_confidence`: a residual run's network replaces its planner only when its daily
/// validation P&L leads the planner's significantly. Every deploy decision, recomputed from the
/// daily P&L each metrics line records (the planner's at step 0), follows the gate; the gate
/// changes no validation (a run without it validates the same networks on the same days); and a
/// run stopped between validations and resumed decides exactly the same (the planner's days
/// survive the checkpoint).
#[test]
fn a_network_replaces_the_planner_only_on_evidence() {
    // A planner looking one quarter-hour ahead over a forecaster trained for 20 steps, and
    // networks that learn fast enough to beat it; a validation every 2,500 steps.
    let (config, fit) = plan_run_setup(4, "soc_points = 5\nresidual = true", |c| {
        if let Some(f) = c.forecast_features.as_mut() {
            (f.forecaster.steps, f.forecaster.validate_every) = (20, 10);
            if let Some(p) = f.plan.as_mut() {
                p.horizon = 1;
            }
        }
        (c.training.total_steps, c.training.validate_every) = (30000, 2500);
        (
            c.training.lr,
            c.training.lr_end,
            c.training.epsilon_decay_steps,
        ) = (1e-3, Some(1e-3), 10_000);
    });
    let confidence = 0.9;
    let data = fit.train_data();
    let dir = tempfile::tempdir().unwrap();
    let run_with = |name: &str, confidence: f64, stop: Option<usize>| {
        let mut c = config.clone();
        c.training.planner_lead_confidence = confidence;
        c.check().unwrap();
        let run = dir.path().join(name);
        if let Some(rounds) = stop {
            let options = TrainOptions {
                stop_after_rounds: Some(rounds),
                ..TrainOptions::default()
            };
            assert!(!train(&data, &c, &run, &options).unwrap().finished);
        }
        assert!(
            train(&data, &c, &run, &TrainOptions::default())
                .unwrap()
                .finished
        );
        let lines = imbarb_agents::trainer::read_metrics(&run).unwrap();
        (lines, read_manifest(&run).unwrap().best.unwrap())
    };
    let (gated, best) = run_with("gated", confidence, None);
    let (plain, _) = run_with("plain", 0.0, None);
    let (resumed, best_resumed) = run_with("resumed", confidence, Some(4));

    let days = data.validation.len();
    assert!(gated.len() >= 6, "{} validations", gated.len());
    assert_eq!(gated[0].step, 0);
    assert!(gated[0].best, "the planner is the first candidate");
    let planner = &gated[0].val_daily_eur;
    let (mut best_selection, mut best_step) = (gated[0].val_selection, 0);
    let (mut held_back, mut passed) = (0, 0);
    for line in &gated[1..] {
        assert_eq!(line.val_daily_eur.len(), days);
        let mean = line.val_daily_eur.iter().sum::<f64>() / days as f64;
        assert!((mean - line.val_eur_per_day).abs() < 1e-6);
        let lead =
            imbarb_agents::trainer::significant_lead(&line.val_daily_eur, planner, confidence);
        let better = line.val_selection > best_selection;
        assert_eq!(line.best, better && lead, "step {}", line.step);
        held_back += usize::from(better && !lead);
        passed += usize::from(better && lead);
        if line.best {
            (best_selection, best_step) = (line.val_selection, line.step);
        }
    }
    assert_eq!(best.step, best_step);
    // Both ways happen here: a network that validated higher on too little evidence, and
    // networks that lead on enough.
    assert!(
        held_back >= 1 && passed >= 1,
        "{held_back} held back, {passed} passed"
    );
    eprintln!(
        "{} network validations: {held_back} held back by the gate, {passed} deployed; deployed step {best_step}",
        gated.len() - 1
    );
    // The gate decides deployment only: the same validations without it, deployed on selection.
    assert_eq!(plain.len(), gated.len());
    let mut best_selection = f64::NEG_INFINITY;
    for (p, g) in plain.iter().zip(&gated) {
        assert_eq!((p.step, &p.val_daily_eur), (g.step, &g.val_daily_eur));
        assert_eq!(p.best, p.val_selection > best_selection, "step {}", p.step);
        best_selection = best_selection.max(p.val_selection);
    }
    // Stopped after 4 rounds and resumed: the same validations and the same decisions.
    let decisions = |lines: &[MetricsLine]| {
        lines
            .iter()
            .map(|l| (l.step, l.val_daily_eur.clone(), l.best))
            .collect::<Vec<_>>()
    };
    assert_eq!(decisions(&resumed), decisions(&gated));
    assert_eq!(best_resumed, best);
}

/// `plan-trees`: the plan over the tree forecaster acts, at every decision, the plan's move over
/// the mean of those trees' levels (refitted here: the trees are deterministic), stored energy
/// valued at their training rows' mean price.
#[test]
fn the_plan_over_trees_acts_the_plans_move_over_the_trees_expected_prices() {
    use imbarb_plan::{GbdtConfig, GbdtForecaster, QuantileModel};
    let test = paper_setup(imbarb_sim::EnvConfig::default(), DaySet::Test);
    let columns = PlanColumns {
        horizon: 4,
        ..PlanColumns::default()
    };
    let forecast = small_forecaster();
    let policy = PlanPolicy::fit(
        &test.days,
        &test.features,
        &test.config,
        &test.train,
        &forecast,
        Some(&imbarb_plan::TreeSettings::default()),
        &columns,
    )
    .unwrap();
    assert!(
        policy.name().contains("tree forecaster"),
        "{}",
        policy.name()
    );
    assert_eq!(
        "plan-trees".parse::<PolicySpec>(),
        Ok(PolicySpec::PlanTrees)
    );
    let mut recorded = Recording::new(Box::new(policy), &test.days);
    let chosen = &test.eval[..3];
    rollout(
        &test.days,
        &test.features,
        &test.config,
        chosen,
        &mut recorded,
        |_| {},
    )
    .unwrap();
    let trees = GbdtForecaster::fit(
        &test.days,
        &test.train,
        &GbdtConfig {
            base: forecast,
            trees: imbarb_plan::TreeSettings::default(),
        },
    )
    .unwrap();
    let inputs = trees.features_for(&test.days).unwrap();
    // No cap: the plan sees the battery as it is (no cycle price added).
    let battery = test.config.battery;
    assert!(battery.cycles_per_day.is_none());
    let terminal = columns.terminal_eur_per_mwh(trees.price_scale.0, &test.config.battery);
    assert!(terminal > 50.0 && terminal < 500.0, "{terminal}");
    let mut moves = [0usize; 3];
    for t in &recorded.taken {
        let prices = expected_at(&trees, &inputs, &test.days, t);
        let want = plans_level(&prices, &battery, terminal, t);
        assert_eq!(t.action, Action::Discrete(want), "{} grid {}", t.date, t.g);
        moves[want] += 1;
    }
    assert_eq!(recorded.taken.len(), 3 * 96);
    // It trades: charges and discharges both happen.
    assert!(moves[0] > 0 && moves[2] > 0, "{moves:?}");
}
