//! The drift guard in replay (issue #30): a model trained on pre-MARI prices, replayed on
//! post-MARI days beside the rule and MPC shadows, is caught on the first day the guard can judge
//! a full window and control goes to the best shadow, journaled with its evidence; the books agree
//! with the replay's own settlement; a restart keeps the shadow in control; an operator's release
//! gives it back. A model that leads its shadow keeps control; with `return_to_model`, one whose
//! own book leads the shadow in control gets it back.

use chrono::{NaiveDate, TimeDelta};
use imbarb_agents::{train, TrainConfig, TrainOptions};
use imbarb_experiment::{build_setup, DaySet};
use imbarb_live::guard::{Alert, GuardConfig};
use imbarb_live::journal::EventKind;
use imbarb_live::lifecycle::{Control, DayEvent, GuardEvent, ShadowConfig};
use imbarb_live::replay::replay;
use imbarb_live::safety::SafetyConfig;
use imbarb_live::service::{LifecycleConfig, LiveCore};
use imbarb_live::shadow::BaselineKind;
use imbarb_market::source::{load_sources, DataSource};
use imbarb_market::SplitSpec;
use std::collections::BTreeMap;
use std::path::Path;

const QRDQN: &str = "algo = \"qr-dqn\"\n[training]\ntotal_steps = 4000\nlearning_starts = 500\n\
                     validate_every = 2000\nenvs = 8\n[network]\nhidden = [32, 32]\n";

/// Trains the config `text` (with `seed`) on the embedded pre-MARI prices into `run`.
fn train_text(text: &str, seed: u64, run: &Path) -> TrainConfig {
    let mut config = TrainConfig::from_toml(text, "test").unwrap();
    config.seed = seed;
    config.resolve_for_cap();
    let fit = build_setup(
        &[DataSource::Belgium],
        &SplitSpec::Paper,
        config.env.clone(),
        0,
        DaySet::Validation,
    )
    .unwrap();
    train(&fit.train_data(), &config, run, &TrainOptions::default()).unwrap();
    config
}

/// A small QR-DQN on the embedded pre-MARI prices.
fn train_on(run: &Path) -> TrainConfig {
    train_text(QRDQN, 0, run)
}

/// The small QR-DQN trained 15 times longer: a model that leads the rule on some of the
/// embedded period's days and trails it on others.
fn train_longer(run: &Path) -> TrainConfig {
    let text = QRDQN
        .replace("total_steps = 4000", "total_steps = 60000")
        .replace("validate_every = 2000", "validate_every = 15000");
    train_text(&text, 0, run)
}

/// The service on `run` with the default safety layer, `life` and its journal at `journal`.
fn open_core(run: &Path, journal: &Path, life: LifecycleConfig) -> LiveCore {
    LiveCore::open_with(run, journal, SafetyConfig::default(), life).unwrap()
}

/// Each change of control journaled: from, to, and the last day of its evidence.
fn switches(guard: &[GuardEvent]) -> Vec<(Control, Control, NaiveDate)> {
    guard
        .iter()
        .map(|g| (g.from.clone(), g.to.clone(), g.evidence.last().unwrap().day))
        .collect()
}

/// Replays `day` where the battery was left (the service's SoC after its last set-point).
fn next_day(
    core: &mut LiveCore,
    market: &imbarb_market::MarketData,
    day: &str,
    config: &TrainConfig,
) -> Vec<imbarb_live::replay::Replayed> {
    let soc = core.state().soc_mwh;
    replay_days(core, market, &days(day, 1), config, Some(soc))
}

/// Points `link` at `target` in one rename, as `imbarb promote` does.
fn repoint(link: &Path, target: &Path) {
    let tmp = link.with_extension("tmp");
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, link).unwrap();
}

/// Replays `days` of `market` through `core` with `config`'s battery from `soc` (default: the
/// battery's first-day SoC).
fn replay_days(
    core: &mut LiveCore,
    market: &imbarb_market::MarketData,
    days: &[NaiveDate],
    config: &TrainConfig,
    soc: Option<f64>,
) -> Vec<imbarb_live::replay::Replayed> {
    let b = config.env.battery;
    let soc = soc.unwrap_or(b.first_soc_mwh());
    replay(core, market, days, &b, config.env.granularity, soc).unwrap()
}

fn days(from: &str, n: i64) -> Vec<NaiveDate> {
    let d0: NaiveDate = from.parse().unwrap();
    (0..n).map(|i| d0 + TimeDelta::days(i)).collect()
}

fn lifecycle(baselines: Vec<BaselineKind>, window_days: u32) -> LifecycleConfig {
    LifecycleConfig {
        shadow: ShadowConfig {
            baselines,
            ..ShadowConfig::default()
        },
        guard: GuardConfig {
            window_days,
            handover: true,
            ..GuardConfig::default()
        },
        ..LifecycleConfig::default()
    }
}

/// The guard, re-derived from the booked days: while the model decides, it is judged on the
/// last full window of its own days against the best shadow that decided all of them; while a
/// shadow decides, control goes back to the model when its own book led the controller (with
/// `return_to_model`), else moves on to a shadow that beat it, over a full window. Returns each
/// switch with the last day of its evidence.
fn rederive_guard(
    closed: &[DayEvent],
    w: usize,
    return_to_model: bool,
) -> Vec<(Control, Control, NaiveDate)> {
    let mean_of = |days: &[&DayEvent], f: &dyn Fn(&DayEvent) -> f64| {
        days.iter().map(|d| f(d)).sum::<f64>() / days.len() as f64
    };
    let mut control = Control::Model;
    let mut epoch_days: Vec<&DayEvent> = vec![];
    let mut expected = vec![];
    for d in closed {
        epoch_days.push(d);
        if epoch_days.len() < w {
            continue;
        }
        let last = &epoch_days[epoch_days.len() - w..];
        let shadow_mean = |k: usize| mean_of(last, &|d| d.result.shadows[k].1.unwrap());
        let names: Vec<String> = d.result.shadows.iter().map(|s| s.0.clone()).collect();
        let model = mean_of(last, &|d| d.result.model_eur);
        // The first of the best (ties go to the earlier shadow).
        let best = (0..names.len())
            .reduce(|b, k| {
                if shadow_mean(k) > shadow_mean(b) {
                    k
                } else {
                    b
                }
            })
            .unwrap();
        let own = match &control {
            Control::Model => model,
            Control::Shadow(n) => shadow_mean(names.iter().position(|x| x == n).unwrap()),
        };
        let best_shadow = Control::Shadow(names[best].clone());
        let to = if return_to_model && control != Control::Model && model > own {
            Some(Control::Model)
        } else if control != best_shadow && own < shadow_mean(best) {
            Some(best_shadow)
        } else {
            None
        };
        if let Some(to) = to {
            expected.push((control.clone(), to.clone(), d.result.day));
            control = to;
            epoch_days.clear();
        }
    }
    expected
}

#[test]
fn a_stale_model_is_caught_within_its_window_and_the_best_shadow_takes_over() {
    let Some(shared) = imbarb_util::testdata::require_shared_data(
        "a_stale_model_is_caught_within_its_window_and_the_best_shadow_takes_over",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("stale");
    let config = train_on(&run);
    let post = DataSource::File(shared.join("elia_be_imbalance_qh_2024-05_2024-12_postmari.csv"));
    let market = load_sources(&[post]).unwrap();
    let journal = dir.path().join("journal.sqlite");
    let window = 3;
    let replayed_days = days("2024-07-01", 9);
    let open = || {
        open_core(
            &run,
            &journal,
            lifecycle(vec![BaselineKind::Rule, BaselineKind::Mpc], window),
        )
    };
    let mut core = open();
    let replayed = replay_days(&mut core, &market, &replayed_days, &config, None);

    // Days close at the next day's first decision, the last at the replay's end.
    let closed: Vec<DayEvent> = core.journal().all(EventKind::Day).unwrap();
    assert_eq!(
        closed.iter().map(|d| d.result.day).collect::<Vec<_>>(),
        replayed_days
    );
    let w = window as usize;
    let expected = rederive_guard(&closed, w, false);
    let guard: Vec<GuardEvent> = core.journal().all(EventKind::Guard).unwrap();
    assert_eq!(switches(&guard), expected);
    // The stale model is caught on the first day the guard can judge it.
    assert_eq!(expected[0].0, Control::Model);
    assert_eq!(expected[0].2, replayed_days[w - 1]);
    assert!(matches!(&guard[0].alerts[0], Alert::Trailing { .. }));
    assert_eq!(guard[0].evidence.len(), w);

    // Every decision names who made it: the model until the first switch, then each shadow.
    let control_on = |day: NaiveDate| -> Option<String> {
        expected
            .iter()
            .rev()
            .find(|e| e.2 < day)
            .map(|e| e.1.to_string())
    };
    for r in &replayed {
        assert_eq!(
            r.decision.control,
            control_on(r.decision.day),
            "{}",
            r.decision.at
        );
    }
    // The books agree with the replay's own settlement: what was sent earned what the
    // simulated battery earned, day by day; in control, the controller's book is the battery's.
    let mut settled: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for r in &replayed {
        *settled.entry(r.decision.day).or_default() += r.profit_eur;
    }
    for d in &closed {
        let real = settled[&d.result.day];
        assert!(
            (d.sent_eur - real).abs() < 1e-6,
            "{}: {} vs {real}",
            d.result.day,
            d.sent_eur
        );
        let controller = match control_on(d.result.day).as_deref() {
            None => d.result.model_eur,
            Some("rule shadow") => d.result.shadows[0].1.unwrap(),
            Some(_) => d.result.shadows[1].1.unwrap(),
        };
        assert!((controller - real).abs() < 1e-6, "{}", d.result.day);
    }
    // Input drift: the last day's warnings are those of its 7 days before against the prices
    // the run recorded from its training days.
    let manifest: imbarb_agents::trainer::Manifest =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let training = manifest
        .training_prices
        .expect("the run records its training prices");
    let last_day = *replayed_days.last().unwrap();
    let from = imbarb_market::calendar::day_start_utc(last_day - TimeDelta::days(7));
    let to = imbarb_market::calendar::day_start_utc(last_day);
    let recent = imbarb_market::stats::PriceSummary::of(
        market
            .qh
            .iter()
            .filter(|r| r.start_utc >= from && r.start_utc < to)
            .map(|r| r.price.reference_eur_per_mwh()),
    )
    .unwrap();
    assert_eq!(recent.count, 7 * 96);
    assert_eq!(
        core.lifecycle().drift_warnings,
        imbarb_live::drift::warnings(&Default::default(), &training, &recent)
    );
    // A restart keeps the shadow in control; an operator's release gives it back.
    drop(core);
    let mut core = open();
    assert_eq!(core.lifecycle().control, expected.last().unwrap().1);
    let at = replayed.last().unwrap().decision.at + TimeDelta::minutes(15);
    core.release(at).unwrap();
    assert_eq!(core.lifecycle().control, Control::Model);
    assert!(core.release(at).is_err(), "the model decides already");
    let last: Option<GuardEvent> = core.journal().latest(EventKind::Guard).unwrap();
    assert!(last.unwrap().reason.contains("operator"));
}

/// With `return_to_model`, control goes back to the model when its own book (its simulated
/// battery, trading while a shadow decides) led the shadow in control over a full window, and
/// the guard can take it again: every switch, both ways, as re-derived from the booked days.
#[test]
fn control_returns_to_a_model_whose_own_book_leads_the_shadow_in_control() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = train_longer(&run);
    let market = load_sources(&[DataSource::Belgium]).unwrap();
    let window = 2;
    let mut life = lifecycle(vec![BaselineKind::Rule], window);
    life.guard.return_to_model = true;
    let mut core = open_core(&run, &dir.path().join("journal.sqlite"), life);
    let replayed_days = days("2023-03-10", 16);
    let replayed = replay_days(&mut core, &market, &replayed_days, &config, None);
    let closed: Vec<DayEvent> = core.journal().all(EventKind::Day).unwrap();
    assert_eq!(closed.len(), replayed_days.len());
    let expected = rederive_guard(&closed, window as usize, true);
    let returns = expected.iter().filter(|e| e.1 == Control::Model).count();
    assert!(
        returns >= 1 && expected.len() > returns,
        "the fixture: the model should lose control and win it back ({expected:?})"
    );
    let guard: Vec<GuardEvent> = core.journal().all(EventKind::Guard).unwrap();
    assert_eq!(switches(&guard), expected);
    // A return is journaled with the model's lead as its evidence, and is not an alarm.
    let back = guard.iter().find(|g| g.to == Control::Model).unwrap();
    assert!(matches!(
        &back.alerts[..],
        [Alert::ModelLeads { model_eur_per_day, controller_eur_per_day, days: 2, .. }]
            if model_eur_per_day > controller_eur_per_day
    ));
    let alarms = guard
        .iter()
        .flat_map(|g| &g.alerts)
        .filter(|a| !matches!(a, Alert::ModelLeads { .. }))
        .count();
    assert_eq!(core.lifecycle().alerts_total, alarms as u64);
    // After a return the model's set-points are sent again: on the days after it, the battery
    // earned what the model's book did.
    let control_on = |day: NaiveDate| -> Control {
        expected
            .iter()
            .rev()
            .find(|e| e.2 < day)
            .map_or(Control::Model, |e| e.1.clone())
    };
    for r in &replayed {
        let c = control_on(r.decision.day);
        let name = (c != Control::Model).then(|| c.to_string());
        assert_eq!(r.decision.control, name, "{}", r.decision.at);
    }
    for d in closed
        .iter()
        .filter(|d| control_on(d.result.day) == Control::Model)
    {
        assert!(
            (d.sent_eur - d.result.model_eur).abs() < 1e-6,
            "{}",
            d.result.day
        );
    }
}

/// The model (trained longer, on the period's own market) leads the rule shadow over every
/// window judged in 2023-03-10 .. 13 (checked here from the booked days, independently of the
/// guard): no alert, no handover, every set-point the model's.
#[test]
fn a_model_that_leads_its_shadow_keeps_control() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = train_longer(&run);
    let market = load_sources(&[DataSource::Belgium]).unwrap();
    let window = 3;
    let replayed_days = days("2023-03-10", 4);
    let mut core = open_core(
        &run,
        &dir.path().join("journal.sqlite"),
        lifecycle(vec![BaselineKind::Rule], window),
    );
    let replayed = replay_days(&mut core, &market, &replayed_days, &config, None);
    let closed: Vec<DayEvent> = core.journal().all(EventKind::Day).unwrap();
    assert_eq!(closed.len(), 4);
    // Two judgements (at the start of day 4 and at the replay's end), each on the three days
    // before.
    for end in [3, 4] {
        let w = &closed[end - 3..end];
        let model = w.iter().map(|d| d.result.model_eur).sum::<f64>() / 3.0;
        let rule = w
            .iter()
            .map(|d| d.result.shadows[0].1.unwrap())
            .sum::<f64>()
            / 3.0;
        assert!(
            model > rule,
            "the fixture: the model should lead ({model:.1} vs {rule:.1} EUR/day)"
        );
    }
    for d in &closed {
        assert!((d.sent_eur - d.result.model_eur).abs() < 1e-6);
    }
    let guard: Vec<GuardEvent> = core.journal().all(EventKind::Guard).unwrap();
    assert!(guard.is_empty(), "{guard:?}");
    assert!(replayed.iter().all(|r| r.decision.control.is_none()));
    assert_eq!(core.lifecycle().control, Control::Model);
    assert_eq!(core.lifecycle().days_judged, 4);
}

/// A promotion re-points the run link the service was started with: the next decision is the
/// new model's, journaled with both identities, and control returns to the model. A run for
/// another battery is refused and the current model keeps deciding.
#[test]
fn a_re_pointed_run_link_is_loaded_between_two_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b_run) = (dir.path().join("a"), dir.path().join("b"));
    let config = train_on(&a);
    train_text(
        &QRDQN.replace("total_steps = 4000", "total_steps = 3000"),
        7,
        &b_run,
    );
    let link = dir.path().join("current");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let market = load_sources(&[DataSource::Belgium]).unwrap();
    let mut core = open_core(
        &link,
        &dir.path().join("journal.sqlite"),
        lifecycle(vec![BaselineKind::Rule], 3),
    );
    let id_a = core.model().to_string();
    let first = replay_days(&mut core, &market, &days("2023-03-10", 1), &config, None);
    assert!(first.iter().all(|r| r.decision.model == id_a));
    // Promote: re-point the link atomically.
    repoint(&link, &b_run);
    let second = next_day(&mut core, &market, "2023-03-11", &config);
    let id_b = core.model().to_string();
    assert_ne!(id_a, id_b);
    assert!(second.iter().all(|r| r.decision.model == id_b));
    assert_eq!(second.len(), 96, "no decision dropped");
    let models: Vec<imbarb_live::service::ModelEvent> =
        core.journal().all(EventKind::Model).unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(
        (models[0].previous.as_str(), models[0].model.as_str()),
        (id_a.as_str(), id_b.as_str())
    );
    let guard: Option<GuardEvent> = core.journal().latest(EventKind::Guard).unwrap();
    let guard = guard.unwrap();
    assert_eq!((guard.to, guard.epoch), (Control::Model, 1));
    assert!(guard.reason.contains("loaded"));

    // A run for a 2 MW battery cannot take over this 1 MW one.
    let c_run = dir.path().join("c");
    train_text(
        &format!(
            "{}[env.battery]\ncharge_power_mw = 2.0\ndischarge_power_mw = 2.0\n",
            QRDQN.replace("total_steps = 4000", "total_steps = 1000")
        ),
        0,
        &c_run,
    );
    repoint(&link, &c_run);
    let third = next_day(&mut core, &market, "2023-03-12", &config);
    assert!(third.iter().all(|r| r.decision.model == id_b));
    let notices = core.take_notices();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("refused") && n.contains("battery")),
        "{notices:?}"
    );
    assert_eq!(
        core.journal()
            .all::<imbarb_live::service::ModelEvent>(EventKind::Model)
            .unwrap()
            .len(),
        1
    );
    // Promoted while the service was down (back to the first run): journaled at the restart's
    // first decision, which the new model makes.
    drop(core);
    repoint(&link, &a);
    let mut core = open_core(
        &link,
        &dir.path().join("journal.sqlite"),
        lifecycle(vec![BaselineKind::Rule], 3),
    );
    let fourth = next_day(&mut core, &market, "2023-03-13", &config);
    assert!(fourth.iter().all(|r| r.decision.model == id_a));
    let models: Vec<imbarb_live::service::ModelEvent> =
        core.journal().all(EventKind::Model).unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(
        (models[1].previous.as_str(), models[1].model.as_str()),
        (id_b.as_str(), id_a.as_str())
    );
    assert_eq!(core.lifecycle().control, Control::Model);
}

/// A challenger is booked on its own simulated battery: the deployed run itself as challenger
/// earns exactly what the model earned, day by day, and never decides.
#[test]
fn the_deployed_run_as_its_own_challenger_books_the_same_days() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = train_on(&run);
    let market = load_sources(&[DataSource::Belgium]).unwrap();
    let mut life = lifecycle(vec![], 3);
    life.shadow.challenger = Some(run.clone());
    life.guard.handover = false;
    let mut core = open_core(&run, &dir.path().join("journal.sqlite"), life);
    let replayed = replay_days(&mut core, &market, &days("2023-03-10", 3), &config, None);
    assert!(
        replayed.iter().any(|r| r.decision.power_mw != 0.0),
        "never trades"
    );
    let closed: Vec<DayEvent> = core.journal().all(EventKind::Day).unwrap();
    assert_eq!(closed.len(), 3);
    for d in &closed {
        let c = d.challenger_eur.expect("the challenger decided all day");
        assert!(
            (c - d.result.model_eur).abs() < 1e-6,
            "{}: {c} vs {}",
            d.result.day,
            d.result.model_eur
        );
        assert!((c - d.sent_eur).abs() < 1e-6);
    }
}

/// A service restarted in the middle of days continues the day's books from the journal: the
/// days it closes and the guard's switches equal those of a run never stopped; and so do
/// replays run one after the other, each reopening the journal a day after the last closed.
#[test]
fn a_restart_mid_day_continues_the_days_books() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = train_on(&run);
    let market = load_sources(&[DataSource::Belgium]).unwrap();
    let b = config.env.battery;
    let replayed_days = days("2023-03-01", 4);
    let open = |journal: &str| {
        open_core(
            &run,
            &dir.path().join(journal),
            lifecycle(vec![BaselineKind::Rule, BaselineKind::Mpc], 2),
        )
    };
    let mut whole = open("whole.sqlite");
    replay_days(&mut whole, &market, &replayed_days, &config, None);

    let mut r = imbarb_live::replay::Replay::new(
        &market,
        &replayed_days,
        b,
        config.env.granularity,
        b.first_soc_mwh(),
    );
    let mut core = open("parts.sqlite");
    let mut n = 0;
    // Stopped mid-day twice (mid-morning of day 2, the evening of day 3), restarted each time.
    while r.step(&mut core, &market).unwrap().is_some() {
        n += 1;
        if n == 96 + 40 || n == 2 * 96 + 80 {
            drop(core);
            core = open("parts.sqlite");
        }
    }
    let days_of = |c: &LiveCore| -> Vec<DayEvent> { c.journal().all(EventKind::Day).unwrap() };
    let (a, p) = (days_of(&whole), days_of(&core));
    assert_eq!(a.len(), 4);
    for (x, y) in a.iter().zip(&p) {
        assert_eq!(x.result.day, y.result.day);
        assert!((x.sent_eur - y.sent_eur).abs() < 1e-6, "{x:?}\n{y:?}");
        assert!((x.result.model_eur - y.result.model_eur).abs() < 1e-6);
        for (s, t) in x.result.shadows.iter().zip(&y.result.shadows) {
            assert_eq!(s.0, t.0);
            assert!(
                (s.1.unwrap() - t.1.unwrap()).abs() < 1e-6,
                "{}: {s:?} vs {t:?}",
                x.result.day
            );
        }
        assert_eq!((&x.control, x.epoch), (&y.control, y.epoch));
    }
    let switches = |c: &LiveCore| -> Vec<(Control, Control, u64)> {
        c.journal()
            .all::<GuardEvent>(EventKind::Guard)
            .unwrap()
            .into_iter()
            .map(|g| (g.from, g.to, g.epoch))
            .collect()
    };
    assert_eq!(switches(&whole), switches(&core));
    // Only the last day's books stay in the journal (the replay's end closed it: they say where
    // each simulated battery ended).
    let books: Vec<imbarb_live::lifecycle::BooksEvent> =
        core.journal().all(EventKind::Books).unwrap();
    assert_eq!(books.len(), 96);
    assert!(books.iter().all(|b| b.day == replayed_days[3]));

    // Replays run one after the other (as month by month through `imbarb live --replay`, each
    // closing its last day, the next one reopening the journal): the battery resumes where the
    // last set-point left it, without a SoC mismatch for the safety layer, and every book, the
    // shadows' and the model's own, starts the next day on the SoC its simulated battery ended
    // the last one with, so the days booked equal those of one replay never stopped. (The
    // battery used to resume at the measurement before the last set-point, and the books at the
    // first-day SoC.)
    let mut core = open("resumed.sqlite");
    replay_days(&mut core, &market, &days("2023-03-01", 2), &config, None);
    drop(core);
    // Reopened, the service knows the SoC the last set-point left (`imbarb live --replay`
    // resumes from it), not the measurement taken before that set-point.
    let mut core = open("resumed.sqlite");
    let soc = core.state().soc_mwh;
    let replayed = replay_days(
        &mut core,
        &market,
        &days("2023-03-03", 2),
        &config,
        Some(soc),
    );
    assert!(
        replayed.iter().all(|r| r.decision.fallback.is_none()),
        "{:?}",
        replayed.iter().find_map(|r| r.decision.fallback.clone())
    );
    let (a, p) = (days_of(&whole), days_of(&core));
    assert_eq!((a.len(), p.len()), (4, 4));
    let mut compared = 0;
    for (x, y) in a.iter().zip(&p) {
        assert!((x.sent_eur - y.sent_eur).abs() < 1e-6, "{x:?}\n{y:?}");
        assert!((x.result.model_eur - y.result.model_eur).abs() < 1e-6);
        for (s, t) in x.result.shadows.iter().zip(&y.result.shadows) {
            let (Some(u), Some(v)) = (s.1, t.1) else {
                panic!("{}: a shadow did not decide all day", x.result.day);
            };
            assert!((u - v).abs() < 1e-6, "{}: {s:?} vs {t:?}", x.result.day);
            compared += 1;
        }
    }
    assert_eq!(compared, 8);

    // Stopped right after a set-point that moved the battery: reopened, the service starts from
    // the SoC that set-point left, not from the measurement sent before it.
    let mut r = imbarb_live::replay::Replay::new(
        &market,
        &days("2023-03-10", 1),
        b,
        config.env.granularity,
        b.first_soc_mwh(),
    );
    let mut core = open("moved.sqlite");
    let last = loop {
        let step = r
            .step(&mut core, &market)
            .unwrap()
            .expect("a day with a move");
        if step.decision.power_mw != 0.0 {
            break step.decision;
        }
    };
    drop(core);
    let core = open("moved.sqlite");
    assert_eq!(core.state().soc_mwh, last.soc_after_mwh);
    assert_eq!(core.state().expected_soc_mwh, last.soc_after_mwh);
}
