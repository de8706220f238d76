//! What the trainer tests share: a small synthetic market, a small config, and a run's metrics.
#![allow(dead_code)]

use imbarb_agents::config::{Algo, TargetUpdate, TrainConfig};
use imbarb_agents::TrainData;
use imbarb_market::synth::{generate, SynthParams};
use imbarb_market::{Coverage, DaySplits, Split, SplitSpec};
use imbarb_sim::{MarketDays, MarketFeatures};
use std::path::Path;

pub struct Market {
    pub days: MarketDays,
    pub features: MarketFeatures,
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub hash: String,
}

pub fn market(config: &TrainConfig) -> Market {
    let data = generate(
        &SynthParams::embedded().expect("params"),
        "2022-01-01".parse().unwrap(),
        "2022-04-30".parse().unwrap(),
        5,
        false,
    )
    .expect("synthetic");
    let coverage = Coverage::of(&data);
    let splits = DaySplits::new(&coverage, &SplitSpec::Paper);
    let days = MarketDays::new(&data, &coverage.complete_days, config.env.granularity, 0).unwrap();
    let idx = |s: Split| -> Vec<usize> {
        let set = splits.days(s);
        (0..days.days.len())
            .filter(|&i| set.contains(&days.days[i].date))
            .collect()
    };
    let train = idx(Split::Train);
    let features = MarketFeatures::build(
        &days,
        &config.env.observation,
        config.env.granularity,
        &train,
    )
    .unwrap();
    Market {
        validation: idx(Split::Validation),
        hash: data.data_hash(),
        days,
        features,
        train,
    }
}

pub fn small_config(algo: Algo, steps: usize) -> TrainConfig {
    let mut c = TrainConfig {
        algo,
        seed: 9,
        ..TrainConfig::default()
    };
    c.network.hidden = vec![64, 64];
    c.env.observation.weekday = false;
    c.env.observation.month = false;
    let t = &mut c.training;
    t.total_steps = steps;
    t.envs = 8;
    t.batch_size = 64;
    t.learning_starts = 500;
    t.replay_capacity = 50_000;
    t.lr = 5e-4;
    t.epsilon_decay_steps = steps / 2;
    t.validate_every = 8 * 96 * 2;
    t.target = TargetUpdate::Polyak { tau: 0.01 };
    c.distribution.quantiles = 16;
    c.distribution.atoms = 31;
    c.distribution.iqn_k = 16;
    c
}

pub fn data(m: &Market) -> TrainData<'_> {
    TrainData {
        days: &m.days,
        features: &m.features,
        train: &m.train,
        validation: &m.validation,
        data_hash: m.hash.clone(),
        forecaster: None,
    }
}

/// metrics.jsonl without the wall-clock fields.
pub fn metrics(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            for k in ["wall_s", "env_steps_per_s", "updates_per_s"] {
                o.remove(k);
            }
            v
        })
        .collect()
}
