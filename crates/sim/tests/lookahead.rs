//! No look-ahead: overwriting every price published after a decision time with garbage (final
//! prices, running estimates and the day-ahead curves published later: day D's at D-1 12:45
//! Brussels) leaves every observation (and every raw input a policy can reach) at or before that
//! time unchanged.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_market::calendar::{day_ahead_published_utc, local_day};
use imbarb_market::synth::{generate, SynthParams};
use imbarb_market::{Coverage, DayAheadPrice, MarketData, QhPrice};
use imbarb_sim::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// `data` with every final price of a quarter-hour ending after `cut` and every running estimate
/// computed in a minute at or after `cut` replaced by garbage.
fn garble_after(data: &MarketData, cut: DateTime<Utc>) -> MarketData {
    let mut g = data.clone();
    for r in &mut g.qh {
        if r.start_utc + TimeDelta::minutes(15) > cut {
            r.price = QhPrice::Single(9_999.0 - r.price.reference_eur_per_mwh());
        }
    }
    for m in &mut g.minutes {
        if m.minute_utc >= cut {
            m.price_estimate_eur_per_mwh = Some(-7_777.0);
        }
    }
    let noon = chrono::NaiveTime::from_hms_opt(12, 45, 0).unwrap();
    for r in &mut g.day_ahead {
        if day_ahead_published_utc(local_day(r.start_utc), noon) > cut {
            r.eur_per_mwh = 5_555.0 - r.eur_per_mwh;
        }
    }
    g
}

/// A day-ahead curve for every quarter-hour of `data` and two days beyond: a smoothed copy of
/// the price, so it carries information the features could leak.
fn with_day_ahead(mut data: MarketData) -> MarketData {
    let last = data.qh.last().unwrap().start_utc;
    let mut t = data.qh[0].start_utc;
    let mut i = 0;
    while t <= last + TimeDelta::days(2) {
        let p = data
            .qh
            .get(i)
            .map_or(40.0, |r| r.price.reference_eur_per_mwh());
        data.day_ahead.push(DayAheadPrice {
            start_utc: t,
            eur_per_mwh: (0.5 * p).round(),
        });
        t += TimeDelta::minutes(15);
        i += 1;
    }
    data
}

fn check(granularity: Granularity) {
    let data = with_day_ahead(
        generate(
            &SynthParams::embedded().unwrap(),
            d("2023-03-01"),
            d("2023-03-10"),
            5,
            true,
        )
        .unwrap(),
    );
    let dates = Coverage::of(&data).complete_days;
    // Every feature, including the training-day profile ahead.
    let cfg = ObservationConfig {
        profile_ahead: 8,
        day_ahead: 60,
        day_ahead_spread: vec![4, 96],
        day_ahead_missing: DayAheadMissing::Mean,
        ..ObservationConfig::default()
    };
    // Normalise (and average the profile) on days 0-3, which lie before every cut below.
    let train: Vec<usize> = (0..4).collect();
    let days_a = MarketDays::new(&data, &dates, granularity, 3).unwrap();
    let fa = MarketFeatures::build(&days_a, &cfg, granularity, &train).unwrap();
    let per_qh = granularity.decisions_per_qh();
    let mut checked = 0;
    // Cuts just before and after 12:45 Brussels (CET: QH 51 of the day) test the publication
    // rule itself: at 12:44 tomorrow's curve is garbage, at 12:45 it is not.
    for (cut_day, cut_qh, cut_minute) in [
        (5usize, 37usize, 0usize),
        (6, 0, 7),
        (8, 95, 14),
        (4, 50, 14),
        (4, 51, 0),
        (7, 51, 1),
    ] {
        let day = &days_a.days[cut_day];
        let cut = days_a.qh_start(day.grid_offset + cut_qh) + TimeDelta::minutes(cut_minute as i64);
        let garbled = garble_after(&data, cut);
        let days_b = MarketDays::new(&garbled, &dates, granularity, 3).unwrap();
        let fb = MarketFeatures::build(&days_b, &cfg, granularity, &train).unwrap();
        assert_eq!(fa.mean, fb.mean);
        for (di, dd) in days_a.days.iter().enumerate() {
            for q in 0..dd.n_qh() {
                for m in 0..per_qh {
                    let t = days_a.qh_start(dd.grid_offset + q) + TimeDelta::minutes(m as i64);
                    let step = q * per_qh + m;
                    if t <= cut {
                        assert_eq!(
                            fa.row(di, step),
                            fb.row(di, step),
                            "{granularity:?} day {di} qh {q} minute {m}, cut {cut}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        // The raw history a policy sees through `Decision` is unchanged too.
        let env_cfg = EnvConfig {
            granularity,
            actions: ActionSpace::Continuous,
            ..EnvConfig::default()
        };
        let mut ea = VecEnv::new(&days_a, &fa, env_cfg.clone()).unwrap();
        let mut eb = VecEnv::new(&days_b, &fb, env_cfg).unwrap();
        ea.reset(&[cut_day], &[1.0]);
        eb.reset(&[cut_day], &[1.0]);
        let cut_step = cut_qh * per_qh + if per_qh > 1 { cut_minute } else { 0 };
        for _ in 0..cut_step {
            ea.step_fractions(&[0.3]);
            eb.step_fractions(&[0.3]);
        }
        let (da, db) = (ea.decision(0), eb.decision(0));
        assert_eq!(da.known_prices.len(), db.known_prices.len());
        assert!(da
            .known_prices
            .iter()
            .zip(db.known_prices)
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));
        assert_eq!(da.latest_estimate, db.latest_estimate);
        assert_eq!(da.day_ahead_known, db.day_ahead_known);
        // After 12:45 the public curve runs into tomorrow; before, it ends with today.
        let day_end = day.grid_offset + day.n_qh();
        if cut_qh >= 51 && (cut_qh > 51 || cut_minute == 0 || per_qh > 1) {
            assert!(da.day_ahead_known.len() > day_end, "tomorrow is public");
        } else if cut_qh < 51 {
            assert_eq!(
                da.day_ahead_known.len(),
                day_end,
                "tomorrow is not public yet"
            );
        }
        assert_eq!(da.observation, db.observation);
        // And the garbage is visible right after the cut, so the test can fail.
        let later = days_a.qh_start(day.grid_offset + cut_qh) + TimeDelta::minutes(15);
        assert!(later > cut);
    }
    assert!(checked > 1000);
    // Sanity: garbling everything from the first decision changes later observations.
    let all = garble_after(&data, days_a.qh_start(days_a.days[0].grid_offset));
    let days_c = MarketDays::new(&all, &dates, granularity, 3).unwrap();
    let fc = MarketFeatures::build(&days_c, &cfg, granularity, &train).unwrap();
    assert_ne!(fa.row(2, 10 * per_qh), fc.row(2, 10 * per_qh));
    // And the day-ahead columns do carry tomorrow's curve once published: garbling only the
    // curves published after a day's 10:00 (tomorrow's, at 12:45) changes that day's afternoon
    // observations.
    let morning = days_a.qh_start(days_a.days[3].grid_offset + 40);
    let tomorrow_only = garble_after(
        &MarketData {
            qh: vec![],
            minutes: vec![],
            ..data.clone()
        },
        morning,
    );
    let mut data_d = data.clone();
    data_d.day_ahead = tomorrow_only.day_ahead;
    let days_d = MarketDays::new(&data_d, &dates, granularity, 3).unwrap();
    let fd = MarketFeatures::build(&days_d, &cfg, granularity, &train).unwrap();
    assert_ne!(fa.row(3, 60 * per_qh), fd.row(3, 60 * per_qh));
}

#[test]
fn quarter_hour_observations_never_see_the_future() {
    check(Granularity::Qh);
}

#[test]
fn minute_observations_never_see_the_future() {
    check(Granularity::Minute);
}
