//! The backtest baseline `mpc-rolling` is the live service's MPC shadow: on real post-MARI days,
//! with the SoC carried over and with a cycle cap, the backtest's requested set-point at every
//! quarter-hour equals the shadow's proposal from the same state, refit the same morning on the
//! same 28 days of published prices.

use chrono::TimeDelta;
use imbarb_baselines::mpc::DEFAULT_MPC_HORIZON;
use imbarb_baselines::mpc_rolling::{window_before, DEFAULT_ROLLING_DAYS};
use imbarb_baselines::RollingMpc;
use imbarb_experiment::{build_setup, DaySet};
use imbarb_live::shadow::{BaselineKind, ShadowBaseline};
use imbarb_market::calendar::day_start_utc;
use imbarb_market::source::{load_sources, DataSource};
use imbarb_market::SplitSpec;
use imbarb_sim::actions::fraction_to_mw;
use imbarb_sim::{rollout, Action, ActionSpace, EnvConfig};

#[test]
fn the_rolling_mpc_backtest_acts_as_the_live_mpc_shadow() {
    let Some(dir) = imbarb_util::testdata::require_shared_data(
        "the_rolling_mpc_backtest_acts_as_the_live_mpc_shadow",
    ) else {
        return;
    };
    let sources: Vec<DataSource> = [
        "elia_be_imbalance_qh_2024-05_2024-12_postmari.csv",
        "be_day_ahead_price_qh_2024.csv",
    ]
    .iter()
    .map(|f| dir.join(f).to_str().unwrap().parse().unwrap())
    .collect();
    let market = load_sources(&sources).unwrap();
    let split =
        SplitSpec::parse("explicit:train=2024-06-01..2024-06-30,test=2024-07-01..2024-07-04")
            .unwrap();
    for cap in [None, Some(1.1)] {
        let mut env = EnvConfig {
            actions: ActionSpace::Discrete { levels: 3 },
            ..EnvConfig::default()
        };
        env.battery.cycles_per_day = cap;
        let s = build_setup(&sources, &split, env, 0, DaySet::Test).unwrap();
        assert_eq!(s.eval.len(), 4);
        let b = s.config.battery;
        let mut policy = RollingMpc::fit(
            &s.days,
            &s.eval,
            DEFAULT_ROLLING_DAYS,
            b,
            s.config.actions,
            DEFAULT_MPC_HORIZON,
        )
        .unwrap();
        let mut steps = vec![];
        rollout(&s.days, &s.features, &s.config, &s.eval, &mut policy, |r| {
            steps.push(*r)
        })
        .unwrap();
        assert_eq!(steps.len(), 4 * 96);

        let mut shadow =
            ShadowBaseline::new(BaselineKind::Mpc, s.config.clone(), DEFAULT_MPC_HORIZON);
        let (mut soc, mut throughput) = (b.first_soc_mwh(), 0.0);
        let mut moved = 0;
        for (i, r) in steps.iter().enumerate() {
            if i == 0 || r.date != steps[i - 1].date {
                let fitted_on = shadow.refit(&market, r.date, DEFAULT_ROLLING_DAYS).unwrap();
                // The same window: June's last days and the test days already past.
                assert_eq!(
                    fitted_on,
                    window_before(&s.days, r.date, DEFAULT_ROLLING_DAYS).len()
                );
                throughput = 0.0;
            }
            let at = day_start_utc(r.date) + TimeDelta::minutes(15 * r.qh as i64);
            let proposed = shadow.propose(&market, at, soc, throughput).unwrap();
            let requested = match r.action {
                Action::Discrete(k) => fraction_to_mw(&b, ActionSpace::level_fraction(k, 3)),
                Action::Continuous(f) => fraction_to_mw(&b, f),
            };
            assert_eq!(
                proposed, requested,
                "cap {cap:?}, {} QH {}: shadow {proposed} MW, backtest {requested} MW",
                r.date, r.qh
            );
            moved += usize::from(requested != 0.0);
            soc = r.soc_after_mwh;
            throughput = r.cycles_after * 2.0 * b.energy_mwh;
        }
        // Not a policy that waits: it moves on many quarter-hours of the four days.
        assert!(moved > 50, "cap {cap:?}: moved on {moved} quarter-hours");
    }
}
