//! Hand-computed one-day cases, DST days, dual pricing, and property tests of the simulator.

use chrono::{NaiveDate, TimeDelta};
use imbarb_market::calendar::day_qh_starts;
use imbarb_market::read_bytes;
use imbarb_sim::*;
use proptest::prelude::*;

/// A market with the given days and, for each, a function of the quarter-hour index giving
/// (long, short) prices.
fn market(days: &[&str], price: impl Fn(usize, usize) -> (f64, f64)) -> imbarb_market::MarketData {
    let mut csv = String::from("timestamp_utc,price_long_eur_mwh,price_short_eur_mwh,market\n");
    for (d, day) in days.iter().enumerate() {
        for (q, t) in day_qh_starts(day.parse().unwrap()).iter().enumerate() {
            let (l, s) = price(d, q);
            csv.push_str(&format!("{},{l},{s},NL\n", t.format("%Y-%m-%dT%H:%M:%SZ")));
        }
    }
    read_bytes("test.csv", csv.as_bytes()).unwrap()
}

fn setup(data: &imbarb_market::MarketData, config: &EnvConfig) -> (MarketDays, MarketFeatures) {
    let dates: Vec<NaiveDate> = imbarb_market::Coverage::of(data).complete_days;
    let days = MarketDays::new(data, &dates, config.granularity, 1).unwrap();
    let all: Vec<usize> = (0..days.days.len()).collect();
    let f = MarketFeatures::build(&days, &config.observation, config.granularity, &all).unwrap();
    (days, f)
}

/// Plays a fixed power fraction per quarter-hour.
struct Script(Vec<f64>);
impl Policy for Script {
    fn name(&self) -> String {
        "script".into()
    }
    fn act(&mut self, d: &Decision) -> Action {
        Action::Continuous(self.0.get(d.qh).copied().unwrap_or(0.0))
    }
}

fn run(data: &imbarb_market::MarketData, config: &EnvConfig, script: Vec<f64>) -> Vec<StepRecord> {
    let (days, f) = setup(data, config);
    let mut out = vec![];
    let all: Vec<usize> = (0..days.days.len()).collect();
    rollout(&days, &f, config, &all, &mut Script(script), |s| {
        out.push(*s)
    })
    .unwrap();
    out
}

fn continuous(b: BatteryConfig) -> EnvConfig {
    EnvConfig {
        battery: b,
        actions: ActionSpace::Continuous,
        ..EnvConfig::default()
    }
}

#[test]
fn charging_at_a_negative_price_earns_money() {
    let data = market(&["2023-06-01"], |_, _| (-100.0, -100.0));
    let steps = run(&data, &continuous(BatteryConfig::default()), vec![-1.0; 96]);
    // From 1 MWh, 1 MWh of room: 4 full quarter-hours (0.9 MWh of cells) then 0.1 MWh of cells
    // = 0.1111 MWh from the grid; every MWh bought at -100 earns 100 EUR.
    let total: f64 = steps.iter().map(|s| s.reward_eur).sum();
    let grid_in = 1.0 + 0.1 / 0.9;
    assert!((total - 100.0 * grid_in).abs() < 1e-9, "{total}");
    assert!((steps.last().unwrap().soc_after_mwh - 2.0).abs() < 1e-12);
    assert!(
        steps[4].outcome.clipped_mw < 0.0,
        "the fifth QH is clipped at full"
    );
    assert_eq!(steps[6].outcome.power_mw, 0.0);
}

#[test]
fn efficiency_losses_round_trip() {
    let data = market(&["2023-06-01"], |_, q| {
        if q < 4 {
            (10.0, 10.0)
        } else {
            (100.0, 100.0)
        }
    });
    // Charge 4 QHs at full power (1 MWh from the grid, 0.9 into the cells) then discharge.
    let mut script = vec![-1.0; 4];
    script.extend(vec![1.0; 92]);
    let steps = run(&data, &continuous(BatteryConfig::default()), script);
    let charged: f64 = steps[..4].iter().map(|s| s.reward_eur).sum();
    assert!((charged + 10.0).abs() < 1e-9);
    // 1.0 + 0.9 = 1.9 MWh of cells discharge into 1.71 MWh at the grid, earning 171 EUR.
    let discharged: f64 = steps[4..].iter().map(|s| s.reward_eur).sum();
    assert!((discharged - 171.0).abs() < 1e-9, "{discharged}");
    let cycles = steps.last().unwrap().cycles_after;
    assert!((cycles - (0.9 + 1.9) / 4.0).abs() < 1e-12);
}

#[test]
fn spent_cycle_budget_means_idle_and_masks() {
    let data = market(&["2023-06-01"], |_, _| (-50.0, -50.0));
    let b = BatteryConfig {
        cycles_per_day: Some(0.25),
        ..BatteryConfig::default()
    };
    let steps = run(&data, &continuous(b), vec![-1.0; 96]);
    // Budget 0.25 x 2 x 2 MWh = 1 MWh of cell throughput: 4 QHs of 0.225, then 0.1.
    let thr: f64 = steps
        .iter()
        .map(|s| s.outcome.cell_in_mwh + s.outcome.cell_out_mwh)
        .sum();
    assert!((thr - 1.0).abs() < 1e-12);
    assert!(steps[5..].iter().all(|s| s.outcome.power_mw == 0.0));
    // The discrete mask forbids charging once the budget cannot cover a full step.
    let mut mask = [false; 3];
    action_mask(&b, 1.5, 0.1, 0.25, LevelLimits::Whole, &mut mask);
    assert_eq!(mask, [false, true, false]);
    action_mask(&b, 1.5, 1.0, 0.25, LevelLimits::Whole, &mut mask);
    assert_eq!(mask, [true, true, true]);
    action_mask(&b, 0.2, 1.0, 0.25, LevelLimits::Whole, &mut mask);
    assert_eq!(
        mask,
        [true, true, false],
        "0.2 MWh cannot give a full 0.278 MWh discharge"
    );
}

/// Plays the allowed level nearest a fixed power fraction per quarter-hour.
struct LevelScript(Vec<f64>);
impl Policy for LevelScript {
    fn name(&self) -> String {
        "levels".into()
    }
    fn act(&mut self, d: &Decision) -> Action {
        let f = self.0.get(d.qh).copied().unwrap_or(0.0);
        action_for_fraction(ActionSpace::Discrete { levels: 3 }, f, d.mask)
    }
}

#[test]
fn clipped_levels_fill_the_battery_where_whole_levels_strand_energy() {
    // Charging at -100 EUR/MWh from 1 MWh: whole levels stop at 1.9 MWh (a fifth full quarter-
    // hour would overfill), clipped levels top up to 2 MWh like continuous power and earn the
    // same 100 x (1 + 0.1 / 0.9) EUR, the last quarter-hour's shortfall in the ledger.
    let data = market(&["2023-06-01"], |_, _| (-100.0, -100.0));
    let play = |limits: LevelLimits| {
        let cfg = EnvConfig {
            levels_at_limits: limits,
            ..EnvConfig::default()
        };
        let (days, f) = setup(&data, &cfg);
        let mut out = vec![];
        rollout(
            &days,
            &f,
            &cfg,
            &[0],
            &mut LevelScript(vec![-1.0; 96]),
            |s| out.push(*s),
        )
        .unwrap();
        out
    };
    let whole = play(LevelLimits::Whole);
    assert!((whole.last().unwrap().soc_after_mwh - 1.9).abs() < 1e-12);
    assert!(whole.iter().all(|s| s.outcome.clipped_mw == 0.0));
    let clipped = play(LevelLimits::Clip);
    assert!((clipped.last().unwrap().soc_after_mwh - 2.0).abs() < 1e-12);
    let total: f64 = clipped.iter().map(|s| s.reward_eur).sum();
    assert!((total - 100.0 * (1.0 + 0.1 / 0.9)).abs() < 1e-9, "{total}");
    let fifth = &clipped[4].outcome;
    assert!(
        (fifth.power_mw + 0.1 / 0.9 / 0.25).abs() < 1e-9,
        "{fifth:?}"
    );
    // Requested minus delivered: -1 MW asked, -0.444 MW delivered.
    assert!((fifth.clipped_mw + (1.0 - 0.1 / 0.9 / 0.25)).abs() < 1e-9);
    // Once full, charging moves nothing and is masked: the rest of the day idles.
    assert!(clipped[5..].iter().all(|s| s.outcome.power_mw == 0.0));

    // The mask: with 0.1 MWh of budget left both directions can still move energy; a full
    // battery cannot charge, an empty one cannot discharge.
    let b = BatteryConfig::default();
    let mut mask = [false; 3];
    action_mask(&b, 1.5, 0.1, 0.25, LevelLimits::Clip, &mut mask);
    assert_eq!(mask, [true, true, true]);
    action_mask(&b, 2.0, 1.0, 0.25, LevelLimits::Clip, &mut mask);
    assert_eq!(mask, [false, true, true]);
    action_mask(&b, 0.0, 1.0, 0.25, LevelLimits::Clip, &mut mask);
    assert_eq!(mask, [true, true, false]);
}

#[test]
fn dst_days_run_their_own_length() {
    let data = market(&["2023-03-26", "2022-10-30"], |_, _| (50.0, 50.0));
    let cfg = continuous(BatteryConfig::default());
    let (days, _) = setup(&data, &cfg);
    let lens: Vec<usize> = days.days.iter().map(|d| d.n_qh()).collect();
    assert_eq!(lens, vec![100, 92]);
    let steps = run(&data, &cfg, vec![]);
    assert_eq!(steps.len(), 192);
    let minute = EnvConfig {
        granularity: Granularity::Minute,
        ..cfg
    };
    let steps = run(&data, &minute, vec![]);
    assert_eq!(steps.len(), 192 * 15);
}

#[test]
fn dual_prices_settle_each_side() {
    // Long earns 40, short pays 90.
    let data = market(&["2024-01-10"], |_, _| (40.0, 90.0));
    let mut script = vec![-1.0; 2];
    script.extend(vec![1.0; 2]);
    let steps = run(&data, &continuous(BatteryConfig::default()), script);
    assert!((steps[0].reward_eur + 0.25 * 90.0).abs() < 1e-9);
    assert!((steps[2].reward_eur - 0.25 * 40.0).abs() < 1e-9);
    assert_eq!(
        settle(
            &imbarb_market::QhPrice::Dual {
                long_eur_per_mwh: 40.0,
                short_eur_per_mwh: 90.0
            },
            -1.0
        ),
        -90.0
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn soc_cycles_and_profit_invariants(
        prices in prop::collection::vec(-300.0f64..600.0, 96),
        actions in prop::collection::vec(-1.5f64..1.5, 96),
        cap in prop::option::of(0.1f64..3.0),
        minute in any::<bool>(),
        degradation in 0.0f64..20.0,
        eff in 0.7f64..1.0,
    ) {
        let data = market(&["2023-06-01"], |_, q| (prices[q], prices[q]));
        let b = BatteryConfig { cycles_per_day: cap, degradation_eur_per_mwh: degradation,
            charge_efficiency: eff, discharge_efficiency: eff, ..BatteryConfig::default() };
        let cfg = EnvConfig {
            granularity: if minute { Granularity::Minute } else { Granularity::Qh },
            ..continuous(b)
        };
        let steps = run(&data, &cfg, actions.clone());
        let mut soc = b.first_soc_mwh();
        let mut net = vec![0.0; 96];
        let mut thr = 0.0;
        let mut reward = 0.0;
        for s in &steps {
            soc += s.outcome.cell_in_mwh - s.outcome.cell_out_mwh;
            prop_assert!((soc - s.soc_after_mwh).abs() < 1e-9);
            prop_assert!(s.soc_after_mwh >= b.soc_min_mwh() - 1e-9 && s.soc_after_mwh <= b.soc_max_mwh() + 1e-9);
            net[s.qh] += s.outcome.grid_energy_mwh;
            thr += s.outcome.cell_in_mwh + s.outcome.cell_out_mwh;
            reward += s.reward_eur;
            if let Some(c) = cap {
                prop_assert!(s.cycles_after <= c + 1e-9);
            }
            prop_assert!((s.outcome.power_mw - (fraction_to(s.action, &b) - s.outcome.clipped_mw)).abs() < 1e-9);
        }
        let settled: f64 = net.iter().zip(&prices).map(|(e, p)| e * p).sum::<f64>() - degradation * thr;
        prop_assert!((reward - settled).abs() < 1e-6 * (1.0 + settled.abs()));
    }
}

fn fraction_to(a: Action, b: &BatteryConfig) -> f64 {
    match a {
        Action::Continuous(f) => imbarb_sim::env::fraction_to_mw(b, f),
        Action::Discrete(_) => unreachable!(),
    }
}

#[test]
fn consecutive_runs_split_at_gaps() {
    let data = market(&["2023-06-01", "2023-06-02", "2023-06-04"], |_, _| {
        (1.0, 1.0)
    });
    let (days, _) = setup(&data, &continuous(BatteryConfig::default()));
    assert_eq!(days.consecutive_runs(&[0, 1, 2]), vec![vec![0, 1], vec![2]]);
    let _ = TimeDelta::zero();
}

#[test]
fn batched_days_equal_days_run_alone() {
    // Lockstep batches (with days of 92, 96 and 100 quarter-hours) must give every env exactly
    // what it gets alone: the step-major buffers and branch-free inner loop are checked here.
    let data = market(
        &["2022-10-29", "2022-10-30", "2023-03-26", "2023-03-27"],
        |d, q| {
            let x = (d * 131 + q * 17) % 97;
            (x as f64 * 7.0 - 150.0, x as f64 * 7.0 - 140.0)
        },
    );
    for granularity in [Granularity::Qh, Granularity::Minute] {
        let cfg = EnvConfig {
            granularity,
            battery: BatteryConfig {
                cycles_per_day: Some(1.5),
                ..BatteryConfig::default()
            },
            ..EnvConfig::default()
        };
        let (days, f) = setup(&data, &cfg);
        let n = days.days.len();
        let action = |i: usize, t: usize| (i * 7 + t * 5 + t / 3) % 3;
        let mut batch = VecEnv::new(&days, &f, cfg.clone()).unwrap();
        let all: Vec<usize> = (0..n).collect();
        batch.reset(&all, &vec![0.8; n]);
        let mut rewards = vec![vec![]; n];
        let mut obs = vec![vec![]; n];
        let w = batch.observation_width();
        let mut t = 0;
        while !batch.all_done() {
            for (i, o) in obs.iter_mut().enumerate() {
                if !batch.dones()[i] {
                    o.push(batch.observations()[i * w..(i + 1) * w].to_vec());
                }
            }
            let acts: Vec<usize> = (0..n).map(|i| action(i, t)).collect();
            let before: Vec<bool> = batch.dones().to_vec();
            batch.step_discrete(&acts);
            for (i, r) in rewards.iter_mut().enumerate() {
                if !before[i] {
                    r.push(batch.rewards()[i]);
                }
            }
            t += 1;
        }
        for i in 0..n {
            let mut alone = VecEnv::new(&days, &f, cfg.clone()).unwrap();
            alone.reset(&[i], &[0.8]);
            let mut t = 0;
            while !alone.all_done() {
                assert_eq!(
                    alone.observations(),
                    &obs[i][t][..],
                    "{granularity:?} day {i} step {t}"
                );
                alone.step_discrete(&[action(i, t)]);
                assert_eq!(
                    alone.rewards()[0],
                    rewards[i][t],
                    "{granularity:?} day {i} step {t}"
                );
                t += 1;
            }
            assert_eq!(t, rewards[i].len());
        }
    }
}

#[test]
fn the_profile_ahead_is_the_training_days_average_by_wall_clock_slot() {
    // Day 0 and 1 train with prices 10 * slot and 10 * slot + 4; day 2 (not training) is wild.
    // Around the spring-forward day 2023-03-26 (92 QHs) the slot, not the index, must count.
    let data = market(&["2023-03-25", "2023-03-26", "2023-03-27"], |d, q| {
        let p = match d {
            0 => 10.0 * q as f64,
            1 => {
                // 02:00-03:00 local does not exist: from index 8 on, the slot is q + 4.
                let slot = if q < 8 { q } else { q + 4 };
                10.0 * slot as f64 + 4.0
            }
            _ => 1e3 * ((q * 7919) % 13) as f64,
        };
        (p, p)
    });
    let cfg = EnvConfig {
        observation: ObservationConfig {
            profile_ahead: 3,
            ..ObservationConfig::default()
        },
        ..EnvConfig::default()
    };
    let dates: Vec<NaiveDate> = imbarb_market::Coverage::of(&data).complete_days;
    let days = MarketDays::new(&data, &dates, Granularity::Qh, 1).unwrap();
    let f = MarketFeatures::build(&days, &cfg.observation, Granularity::Qh, &[0, 1]).unwrap();
    let col = |j: usize| {
        f.names
            .iter()
            .position(|n| n == &format!("profile_ahead_{j}"))
            .unwrap()
    };
    // Slots 8..12 exist only on day 0 (price 10 * slot); other slots average to 10 * slot + 2.
    let expected = |slot: usize| {
        let s = slot % 96;
        if (8..12).contains(&s) {
            10.0 * s as f64
        } else {
            10.0 * s as f64 + 2.0
        }
    };
    for (day, q, slot) in [
        (0usize, 0usize, 0usize),
        (0, 7, 7),
        (1, 8, 12),
        (2, 94, 94),
        (2, 95, 95),
    ] {
        for j in 0..3 {
            let c = col(j);
            let raw = f.row(day, q)[c] as f64 * f.std[c] + f.mean[c];
            let want = expected(slot + j);
            assert!(
                (raw - want).abs() < 1e-3 * want.max(1.0),
                "day {day} qh {q} ahead {j}: {raw} vs {want}"
            );
        }
    }
}

proptest! {
    /// Grid and cell energy meet in one formula (`BatteryConfig::cell_energy`): what the
    /// simulator books for a feasible step, and its closed form, eta_c x |grid| into the cells
    /// when charging and grid / eta_d out of them when discharging.
    #[test]
    fn grid_to_cell_energy_has_one_definition(
        eff_c in 0.5f64..1.0, eff_d in 0.5f64..1.0, fraction in -1.0f64..1.0,
    ) {
        let b = BatteryConfig {
            charge_efficiency: eff_c,
            discharge_efficiency: eff_d,
            ..BatteryConfig::default()
        };
        let duration_h = 0.25;
        let s = b.step(b.energy_mwh / 2.0, f64::INFINITY, fraction * b.discharge_power_mw, duration_h);
        prop_assert_eq!(b.cell_energy(s.grid_energy_mwh), (s.cell_in_mwh, s.cell_out_mwh));
        let grid = s.grid_energy_mwh;
        let want = if grid > 0.0 { (0.0, grid / eff_d) } else { (-grid * eff_c, 0.0) };
        prop_assert!((s.cell_in_mwh - want.0).abs() < 1e-12 && (s.cell_out_mwh - want.1).abs() < 1e-12);
        let fast = step_fast_of(&b, duration_h, fraction);
        prop_assert!((fast.cell_in_mwh - s.cell_in_mwh).abs() < 1e-12);
        prop_assert!((fast.cell_out_mwh - s.cell_out_mwh).abs() < 1e-12);
        let (cin, cout) = b.cell_per_grid_mwh();
        prop_assert_eq!((cin, cout), (eff_c, 1.0 / eff_d));
    }
}

fn step_fast_of(b: &BatteryConfig, duration_h: f64, fraction: f64) -> StepOutcome {
    let k = b.step_constants(duration_h);
    imbarb_sim::battery::step_fast(
        &k,
        b.energy_mwh / 2.0,
        f64::INFINITY,
        fraction * b.discharge_power_mw,
    )
}

/// Records the battery part of each observation beside the state the decision saw.
struct Observer(Vec<(Vec<f32>, f64, f64)>);

impl Policy for Observer {
    fn name(&self) -> String {
        "observer".into()
    }
    fn act(&mut self, d: &Decision) -> Action {
        let battery = d.observation[d.observation.len() - BATTERY_FEATURES..].to_vec();
        self.0.push((battery, d.soc_mwh, d.cycles_used));
        Action::Continuous(if d.qh % 7 < 3 { -1.0 } else { 0.6 })
    }
}

/// The battery part of every observation is `battery_observation` of the decision's state, and
/// the observation's names end with `BATTERY_FEATURE_NAMES`.
#[test]
fn the_battery_observation_has_one_definition() {
    let b = BatteryConfig {
        cycles_per_day: Some(1.5),
        ..BatteryConfig::default()
    };
    let config = continuous(b);
    let data = market(&["2023-03-01", "2023-03-02"], |_, q| {
        let p = (q as f64 * 0.4).sin() * 80.0;
        (p, p)
    });
    let (days, f) = setup(&data, &config);
    let names = f.observation_names();
    assert_eq!(names.len(), f.width + BATTERY_FEATURES);
    assert_eq!(names[f.width..], BATTERY_FEATURE_NAMES.map(String::from));
    let all: Vec<usize> = (0..days.days.len()).collect();
    let mut obs = Observer(vec![]);
    rollout(&days, &f, &config, &all, &mut obs, |_| {}).unwrap();
    assert_eq!(obs.0.len(), 2 * 96);
    let budget = b.daily_throughput_budget_mwh();
    let mut saw_budget_used = false;
    for (battery, soc, cycles) in &obs.0 {
        let throughput = cycles * 2.0 * b.energy_mwh;
        let want = battery_observation(&b, *soc, throughput, budget);
        for (got, want) in battery.iter().zip(want) {
            assert!((got - want).abs() < 1e-5, "{battery:?} vs {want:?}");
        }
        saw_budget_used |= battery[2] < 0.5;
    }
    assert!(
        saw_budget_used,
        "the script spends more than half the budget"
    );
}
