//! The forecaster's quantiles and the planner's values as observation columns, on the synthetic
//! market, from the quantile MLP and from the gradient-boosted trees alike: the saved forecaster
//! forecasts exactly as the fitted one, a single decision's columns
//! are the columns of the whole-setup pass, a quarter-hour's columns never change when later
//! prices do, the planner's columns are its plan over the forecast's expected prices, and wrong
//! settings are refused by name.

use chrono::{NaiveDate, TimeDelta};
use imbarb_market::synth::{generate, SynthParams};
use imbarb_market::{Coverage, QhPrice};
use imbarb_plan::{
    ForecastConfig, ForecastFeatures, Forecaster, PlanColumns, QuantileForecaster, QuantileModel,
    TreeSettings,
};
use imbarb_sim::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn spec() -> ForecastFeatures {
    ForecastFeatures {
        levels: vec![0.25, 0.75],
        horizon: 3,
        forecaster: ForecastConfig {
            horizon: 4,
            quantiles: 3,
            hidden: vec![16],
            steps: 300,
            validate_every: 100,
            ..ForecastConfig::default()
        },
        trees: None,
        plan: Some(PlanColumns {
            horizon: 4,
            soc_points: 3,
            ..PlanColumns::default()
        }),
    }
}

/// `spec()` over small gradient-boosted trees.
fn tree_spec() -> ForecastFeatures {
    ForecastFeatures {
        trees: Some(TreeSettings {
            max_rounds: 40,
            max_depth: 3,
            ..TreeSettings::default()
        }),
        ..spec()
    }
}

/// Every quantile `f` gives on `x`, in order.
fn all_quantiles(f: &Forecaster, x: &[f32]) -> Vec<f64> {
    let mut all = vec![];
    f.for_each_quantiles(x, &mut |_, q| all.extend_from_slice(q))
        .unwrap();
    all
}

fn battery() -> BatteryConfig {
    BatteryConfig::default()
}

/// The forecaster through its saved form, the default market features on `days`, and those
/// features with the forecast columns appended.
fn saved_and_columns(
    spec: &ForecastFeatures,
    fitted: &Forecaster,
    days: &MarketDays,
    train: &[usize],
) -> (Forecaster, MarketFeatures, MarketFeatures) {
    let saved = Forecaster::from_checkpoint(&fitted.to_checkpoint().unwrap(), "t").unwrap();
    let base =
        MarketFeatures::build(days, &ObservationConfig::default(), Granularity::Qh, train).unwrap();
    let mut with = base.clone();
    spec.append(&saved, days, &battery(), &mut with).unwrap();
    (saved, base, with)
}

/// The planner's columns `got` are the plan's values `want` divided by `scale` (`at`: which
/// row, for the message).
fn assert_plan_columns(got: &[f32], want: &[f64], scale: f64, at: &str) {
    assert_eq!(got.len(), want.len(), "{at}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (f64::from(*g) - w / scale).abs() < 1e-5,
            "{at}: {got:?} vs {want:?} / {scale}"
        );
    }
}

/// The plan's values at states of charge 0, 1 and 2 MWh over the rolling MPC's forecast (14
/// days, 4 quarter-hours) at quarter-hour `q` of day `day`, stored energy at `terminal`.
fn rolling_plan_values(
    days: &MarketDays,
    rule: &DayAheadRule,
    day: usize,
    q: usize,
    terminal: f64,
) -> Vec<f64> {
    let (date, g) = (days.days[day].date, days.days[day].grid_offset + q);
    let prices =
        imbarb_baselines::mpc_rolling::rolling_forecast_at(days, 14, 4, battery(), rule, date, g)
            .unwrap();
    imbarb_plan::plan_columns::advantages(&prices, &battery(), terminal, &[0.0, 1.0, 2.0])
}

/// `base` with `spec`'s columns appended over `data` whose prices after quarter-hour `cut_qh` of
/// day `day` (of `dates`) are garbled: a causal column up to the cut cannot tell.
fn garbled_after(
    spec: &ForecastFeatures,
    saved: &Forecaster,
    data: &imbarb_market::MarketData,
    dates: &[NaiveDate],
    base: &MarketFeatures,
    day: usize,
    cut_qh: usize,
) -> MarketFeatures {
    let days = MarketDays::new(data, dates, Granularity::Qh, 0).unwrap();
    let cut = days.qh_start(days.days[day].grid_offset + cut_qh);
    let mut garbled = data.clone();
    for r in &mut garbled.qh {
        if r.start_utc + TimeDelta::minutes(15) > cut {
            r.price = QhPrice::Single(5_000.0 - r.price.reference_eur_per_mwh());
        }
    }
    let days_b = MarketDays::new(&garbled, dates, Granularity::Qh, 0).unwrap();
    let mut with_b = base.clone();
    spec.append(saved, &days_b, &battery(), &mut with_b)
        .unwrap();
    with_b
}

/// The forecast columns `decision` gives quarter-hour `q` of day `day`, one decision at a time.
fn one_decision(
    spec: &ForecastFeatures,
    saved: &Forecaster,
    days: &MarketDays,
    day: usize,
    q: usize,
) -> Vec<f32> {
    let d = &days.days[day];
    spec.decision(saved, days, &battery(), d.date, d.grid_offset + q)
        .unwrap()
}

#[test]
fn forecast_columns_are_saved_exactly_causal_and_the_same_one_decision_at_a_time() {
    forecast_columns_check(&spec());
}

#[test]
fn tree_forecast_columns_are_saved_exactly_causal_and_the_same_one_decision_at_a_time() {
    forecast_columns_check(&tree_spec());
}

/// The checks of the two tests above, for `spec`'s forecaster.
fn forecast_columns_check(spec: &ForecastFeatures) {
    let data = generate(
        &SynthParams::embedded().unwrap(),
        d("2023-01-01"),
        d("2023-02-20"),
        5,
        false,
    )
    .unwrap();
    let dates = Coverage::of(&data).complete_days;
    let days = MarketDays::new(&data, &dates, Granularity::Qh, 0).unwrap();
    let n = days.days.len();
    let train: Vec<usize> = (0..n - 10).collect();
    let fitted = spec.fit(&days, &train).unwrap();
    assert_eq!(fitted.trees().is_some(), spec.trees.is_some());
    // No day-ahead curve in the data: none read.
    assert!(!fitted.observation().uses_day_ahead());
    let (saved, base, with) = saved_and_columns(spec, &fitted, &days, &train);
    assert!(
        spec.made(&saved)
            && !spec.made(
                &Forecaster::fit(
                    &days,
                    &train,
                    &spec.forecaster,
                    Some(&TreeSettings::default()).filter(|_| spec.trees.is_none())
                )
                .unwrap()
            )
    );
    let inputs = fitted.features_for(&days).unwrap();
    assert_eq!(
        all_quantiles(&saved, &inputs.values),
        all_quantiles(&fitted, &inputs.values),
        "the saved forecaster forecasts otherwise"
    );
    assert_eq!(saved.scaling(), fitted.scaling());
    assert_eq!(saved.price_scale(), fitted.price_scale());
    assert_eq!(with.width, base.width + 6 + 6);
    assert_eq!(
        &with.names[base.width..base.width + 2],
        ["forecast_qh0_p25", "forecast_qh0_p75"]
    );
    assert_eq!(
        &with.names[base.width + 6..],
        [
            "plan_soc000_charge",
            "plan_soc000_discharge",
            "plan_soc050_charge",
            "plan_soc050_discharge",
            "plan_soc100_charge",
            "plan_soc100_discharge"
        ]
    );
    // The market columns are untouched; the quantile columns are ordered (p25 <= p75).
    let day = n - 3;
    for q in 0..96 {
        let row = with.row(day, q);
        assert_eq!(&row[..base.width], base.row(day, q));
        for t in 0..3 {
            assert!(
                row[base.width + 2 * t] <= row[base.width + 2 * t + 1],
                "qh {q} t {t}"
            );
        }
        let one = one_decision(spec, &saved, &days, day, q);
        assert_eq!(one, row[base.width..], "qh {q}");
        // A full battery cannot charge, an empty one cannot discharge.
        let plan = &row[base.width + 6..];
        assert_eq!((plan[1], plan[4]), (0.0, 0.0), "qh {q}");
    }
    // The planner's columns are the plan over the mean of the forecast quantiles.
    let g = days.days[day].grid_offset + 40;
    let x = decision_features(
        &days,
        saved.observation(),
        Granularity::Qh,
        &components_in(saved.feature_names()),
        saved.scaling(),
        days.days[day].date,
        g,
        0,
    );
    let predicted = all_quantiles(&saved, &x);
    let expected: Vec<f64> = predicted
        .chunks(3)
        .map(|q| q.iter().sum::<f64>() / 3.0)
        .collect();
    let b = battery();
    let (mean, std) = saved.price_scale();
    let want = imbarb_plan::plan_columns::advantages(&expected, &b, mean, &[0.0, 1.0, 2.0]);
    let scale = PlanColumns::scale(&b, std);
    let got = &with.row(day, 40)[base.width + 6..];
    assert_plan_columns(got, &want, scale, "qh 40");
    assert!(
        want.iter().any(|v| v.abs() > 1.0),
        "a plan that never moves: {want:?}"
    );
    // Valuing the energy left at the horizon after the discharge efficiency: the DP with a
    // terminal value of mean x 0.9, and columns that differ from the mean's.
    let mut after = spec.clone();
    if let Some(plan) = after.plan.as_mut() {
        plan.terminal_after_discharge = true;
    }
    let mut with_after = base.clone();
    after.append(&saved, &days, &b, &mut with_after).unwrap();
    let terminal = mean * b.discharge_efficiency;
    let want_after =
        imbarb_plan::plan_columns::advantages(&expected, &b, terminal, &[0.0, 1.0, 2.0]);
    let got_after = &with_after.row(day, 40)[base.width + 6..];
    assert_plan_columns(got_after, &want_after, scale, "qh 40, after discharge");
    assert_ne!(got_after, got, "the terminal value changed no column");
    assert_eq!(
        &with_after.row(day, 40)[..base.width + 6],
        &with.row(day, 40)[..base.width + 6]
    );

    // Later prices garbled: every column up to the cut is the same, and after it some change.
    let cut_qh = 50;
    let with_b = garbled_after(spec, &saved, &data, &dates, &base, day, cut_qh);
    for q in 0..=cut_qh {
        assert_eq!(
            with.row(day, q),
            with_b.row(day, q),
            "qh {q} read a later price"
        );
    }
    assert!((cut_qh + 1..96)
        .any(|q| with.row(day, q)[base.width..] != with_b.row(day, q)[base.width..]));
}

#[test]
fn wrong_forecast_settings_are_refused_by_name() {
    let mut s = spec();
    s.levels = vec![0.3];
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("forecast_features.levels: 0.3"), "{e}");
    let mut s = spec();
    s.horizon = 5;
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("forecast_features.horizon = 5"), "{e}");
    let mut s = spec();
    s.forecaster.steps = 0;
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("forecast_features.forecaster.steps"), "{e}");
    let mut s = spec();
    s.plan = Some(PlanColumns {
        horizon: 5,
        soc_points: 3,
        ..PlanColumns::default()
    });
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("forecast_features.plan.horizon = 5"), "{e}");
    s.plan = Some(PlanColumns {
        horizon: 4,
        rolling_mpc_days: Some(0),
        ..PlanColumns::default()
    });
    let e = s.check().unwrap_err().to_string();
    assert!(
        e.contains("forecast_features.plan.rolling_mpc_days = 0"),
        "{e}"
    );
    s.plan = Some(PlanColumns {
        horizon: 5,
        ..PlanColumns::default()
    });
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("forecast_features.plan.horizon = 5"), "{e}");
    // Stored energy valued from a window needs the window, and one valuation.
    s.plan = Some(PlanColumns {
        horizon: 4,
        terminal_from_window: true,
        ..PlanColumns::default()
    });
    let e = s.check().unwrap_err().to_string();
    assert!(
        e.contains("terminal_from_window") && e.contains("rolling_mpc_days"),
        "{e}"
    );
    s.plan = Some(PlanColumns {
        horizon: 4,
        terminal_from_window: true,
        terminal_after_discharge: true,
        rolling_mpc_days: Some(14),
        ..PlanColumns::default()
    });
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("terminal_after_discharge"), "{e}");
}

/// On the real post-MARI prices and 2024 day-ahead curve, the forecaster can read the curve (not
/// with `day_ahead = false`, nor when a training day lacks it) and keeps it only where it
/// validates better, keeps what it read through its saved form, gives one decision
/// the columns of the whole-data pass, and sees tomorrow's curve only once it is published: with
/// a 16-hour horizon every decision from 08:00 reads into tomorrow, yet a dearer curve for
/// tomorrow moves no column before its 12:45 publication and every column after it.
#[test]
fn the_forecaster_reads_the_published_day_ahead_curve_where_there_is_one() {
    let Some((data, dates, days, train)) = post_mari_before(
        "the_forecaster_reads_the_published_day_ahead_curve_where_there_is_one",
        "2024-08-01",
    ) else {
        return;
    };
    let n = days.days.len();
    let mut spec = spec();
    spec.forecaster.horizon = 64;
    let without = ForecastConfig {
        day_ahead: false,
        ..spec.forecaster.clone()
    };
    assert!(!without.observation_on(&days, &train).uses_day_ahead());
    assert!(spec
        .forecaster
        .observation_on(&days, &train)
        .uses_day_ahead());
    // One training day without its curve: the curve is not read (nor learnt from placeholders).
    let first = days.qh_start(days.days[3].grid_offset);
    let mut holed = data.clone();
    holed
        .day_ahead
        .retain(|r| r.start_utc < first || r.start_utc >= first + TimeDelta::hours(24));
    let days_holed = MarketDays::new(&holed, &dates, Granularity::Qh, 0).unwrap();
    assert!(!spec
        .forecaster
        .observation_on(&days_holed, &train)
        .uses_day_ahead());
    // Left to choose, it keeps whichever of with and without the curve validates better.
    let auto = QuantileForecaster::fit(&days, &train, &spec.forecaster).unwrap();
    let reading = spec.forecaster.observation_on(&days, &train);
    spec.forecaster.observation = reading.clone();
    let fitted_model = spec.fit(&days, &train).unwrap();
    let Forecaster::Network(fitted) = &fitted_model else {
        panic!("the MLP was asked for")
    };
    let plain = QuantileForecaster::fit(&days, &train, &without).unwrap();
    assert_eq!(fitted.observation, reading);
    assert_eq!(fitted.observation.day_ahead, 64);
    assert!(!plain.observation.uses_day_ahead());
    let best = fitted.validation.0.min(plain.validation.0);
    assert_eq!(auto.validation.0, best);
    assert_eq!(
        auto.observation.uses_day_ahead(),
        fitted.validation.0 < plain.validation.0
    );
    assert!(fitted
        .feature_names
        .iter()
        .any(|c| c.starts_with("day_ahead")));
    let (saved, base, with) = saved_and_columns(&spec, &fitted_model, &days, &train);
    assert_eq!(saved.observation(), &fitted.observation);
    let day = n - 3;
    let (w, nq) = (base.width, days.days[day].n_qh());
    for q in 0..nq {
        let one = one_decision(&spec, &saved, &days, day, q);
        assert_eq!(one, with.row(day, q)[w..], "qh {q}");
    }
    // The next day's curve 200 EUR/MWh dearer.
    let next_start = days.qh_start(days.days[day + 1].grid_offset);
    let mut dearer = data.clone();
    for r in &mut dearer.day_ahead {
        if r.start_utc >= next_start && r.start_utc < next_start + TimeDelta::days(1) {
            r.eur_per_mwh += 200.0;
        }
    }
    let days_b = MarketDays::new(&dearer, &dates, Granularity::Qh, 0).unwrap();
    let mut with_b = base.clone();
    spec.append(&saved, &days_b, &battery(), &mut with_b)
        .unwrap();
    // Quarter-hours of the Brussels day: 12:45 is the 52nd (index 51).
    for q in 0..51 {
        assert_eq!(
            with.row(day, q)[w..],
            with_b.row(day, q)[w..],
            "qh {q} saw tomorrow's curve"
        );
    }
    for q in 51..nq {
        assert_ne!(
            with.row(day, q)[w..],
            with_b.row(day, q)[w..],
            "qh {q} ignores tomorrow's published curve"
        );
    }
}

/// A plan over the MPC refit every day on the last 14 days (`rolling_mpc_days`), on the real
/// post-MARI prices and 2024 day-ahead curve: its columns are the plan over that MPC's forecast
/// (not the forecaster's), the same one decision at a time, unmoved by later prices, and
/// unmoved by tomorrow's curve before its 12:45 publication (moved by it once the plan's hour
/// reaches tomorrow).
#[test]
fn a_plan_over_the_rolling_mpc_reads_only_what_was_published() {
    let Some((data, dates, days, train)) = post_mari_before(
        "a_plan_over_the_rolling_mpc_reads_only_what_was_published",
        "2024-07-20",
    ) else {
        return;
    };
    let n = days.days.len();
    let mut rolling = spec();
    rolling.plan = Some(PlanColumns {
        horizon: 4,
        soc_points: 3,
        rolling_mpc_days: Some(14),
        ..PlanColumns::default()
    });
    let fitted = rolling.fit(&days, &train).unwrap();
    let (saved, base, with) = saved_and_columns(&rolling, &fitted, &days, &train);
    let (_, _, over_forecaster) = saved_and_columns(&spec(), &fitted, &days, &train);
    let plan_at = base.width + 6;
    let day = n - 3;
    let b = battery();
    let scale = PlanColumns::scale(&b, saved.price_scale().1);
    let rule = saved.observation().day_ahead_rule().unwrap();
    let mut differs = 0;
    for q in 0..days.days[day].n_qh() {
        let row = with.row(day, q);
        // The quantile columns are the forecaster's either way.
        assert_eq!(row[..plan_at], over_forecaster.row(day, q)[..plan_at]);
        assert_eq!(
            one_decision(&rolling, &saved, &days, day, q),
            row[base.width..],
            "qh {q}"
        );
        let want = rolling_plan_values(&days, &rule, day, q, saved.price_scale().0);
        assert_plan_columns(&row[plan_at..], &want, scale, &format!("qh {q}"));
        differs += usize::from(row[plan_at..] != over_forecaster.row(day, q)[plan_at..]);
    }
    assert!(
        differs > 48,
        "the rolling plan equals the forecaster's on {differs} of 96 QH"
    );

    // Later prices garbled from 12:30: nothing up to then moves, something after does.
    let cut_qh = 50;
    let with_b = garbled_after(&rolling, &saved, &data, &dates, &base, day, cut_qh);
    for q in 0..=cut_qh {
        assert_eq!(
            with.row(day, q),
            with_b.row(day, q),
            "qh {q} read a later price"
        );
    }
    assert!((cut_qh + 1..96).any(|q| with.row(day, q)[plan_at..] != with_b.row(day, q)[plan_at..]));

    // Tomorrow's curve 300 EUR/MWh dearer: the plan (an hour ahead) reads it only in the last
    // hour of the day, and never before its publication.
    let next_start = days.qh_start(days.days[day + 1].grid_offset);
    let mut dearer = data.clone();
    for r in &mut dearer.day_ahead {
        if r.start_utc >= next_start && r.start_utc < next_start + TimeDelta::days(1) {
            r.eur_per_mwh += 300.0;
        }
    }
    let days_c = MarketDays::new(&dearer, &dates, Granularity::Qh, 0).unwrap();
    let mut with_c = base.clone();
    rolling.append(&saved, &days_c, &b, &mut with_c).unwrap();
    let nq = days.days[day].n_qh();
    for q in 0..nq - 4 {
        assert_eq!(
            with.row(day, q)[plan_at..],
            with_c.row(day, q)[plan_at..],
            "qh {q}"
        );
    }
    assert!((nq - 4..nq).any(|q| with.row(day, q)[plan_at..] != with_c.row(day, q)[plan_at..]));
}

/// A plan following the market entirely (`terminal_from_window`) values the energy left at its
/// horizon as the rolling MPC does each day (its window's mean price, summed by hand here, times
/// the discharge efficiency), in the whole-setup pass and one decision at a time alike; its
/// columns differ from the plan valuing it at the training mean, and only its columns do.
#[test]
fn a_plan_following_the_market_values_stored_energy_from_its_window() {
    let Some((_, _, days, train)) = post_mari_before(
        "a_plan_following_the_market_values_stored_energy_from_its_window",
        "2024-07-20",
    ) else {
        return;
    };
    let plan = |terminal_from_window| PlanColumns {
        horizon: 4,
        soc_points: 3,
        rolling_mpc_days: Some(14),
        terminal_from_window,
        ..PlanColumns::default()
    };
    let mut windowed = spec();
    windowed.plan = Some(plan(true));
    let mut at_mean = spec();
    at_mean.plan = Some(plan(false));
    let fitted = windowed.fit(&days, &train).unwrap();
    let (saved, base, with) = saved_and_columns(&windowed, &fitted, &days, &train);
    let (_, _, with_mean) = saved_and_columns(&at_mean, &fitted, &days, &train);
    let plan_at = base.width + 6;
    let b = battery();
    let scale = PlanColumns::scale(&b, saved.price_scale().1);
    let rule = saved.observation().day_ahead_rule().unwrap();
    let n = days.days.len();
    let mut differs = 0;
    for day in [n - 3, n - 30] {
        let date = days.days[day].date;
        let first = date - TimeDelta::days(14);
        let window: Vec<f64> = days
            .days
            .iter()
            .filter(|d| d.date >= first && d.date < date)
            .flat_map(|d| d.prices.iter().map(|p| p.reference_eur_per_mwh()))
            .collect();
        let terminal = window.iter().sum::<f64>() / window.len() as f64 * b.discharge_efficiency;
        assert!(
            (terminal - saved.price_scale().0).abs() > 5.0,
            "day {date}: the window's value {terminal} is the training mean's"
        );
        for q in [0, 30, 60, 95] {
            let row = with.row(day, q);
            assert_eq!(row[..plan_at], with_mean.row(day, q)[..plan_at]);
            assert_eq!(
                one_decision(&windowed, &saved, &days, day, q),
                row[base.width..],
                "{date} qh {q}"
            );
            let want = rolling_plan_values(&days, &rule, day, q, terminal);
            assert_plan_columns(&row[plan_at..], &want, scale, &format!("{date} qh {q}"));
            differs += usize::from(row[plan_at..] != with_mean.row(day, q)[plan_at..]);
        }
    }
    assert!(
        differs > 4,
        "the window's value changed {differs} of 8 rows"
    );
}

/// The real post-MARI prices with the 2024 day-ahead curve, their complete days before `end`
/// arranged for quarter-hours, and all but the last 5 of them as training days (`None`, the test
/// skipped, without the shared data).
#[allow(clippy::type_complexity)]
fn post_mari_before(
    test: &str,
    end: &str,
) -> Option<(
    imbarb_market::MarketData,
    Vec<NaiveDate>,
    MarketDays,
    Vec<usize>,
)> {
    let dir = imbarb_util::testdata::require_shared_data(test)?;
    let sources: Vec<imbarb_market::source::DataSource> = [
        "elia_be_imbalance_qh_2024-05_2024-12_postmari.csv",
        "be_day_ahead_price_qh_2024.csv",
    ]
    .iter()
    .map(|f| dir.join(f).to_str().unwrap().parse().unwrap())
    .collect();
    let data = imbarb_market::source::load_sources(&sources).unwrap();
    let dates: Vec<NaiveDate> = Coverage::of(&data)
        .complete_days
        .into_iter()
        .filter(|d| *d < d_(end))
        .collect();
    let days = MarketDays::new(&data, &dates, Granularity::Qh, 0).unwrap();
    let train: Vec<usize> = (0..days.days.len() - 5).collect();
    Some((data, dates, days, train))
}

fn d_(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
