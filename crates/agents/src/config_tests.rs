//! Tests of `config.rs`.

use super::*;

#[test]
fn defaults_round_trip_and_unknown_keys_fail() {
    let c = TrainConfig::default();
    let back = TrainConfig::from_toml(&c.to_toml(), "x.toml").unwrap();
    assert_eq!(back, c);
    let err =
        TrainConfig::from_toml("algo = \"qr-dqn\"\nlearning_rate = 1\n", "x.toml").unwrap_err();
    assert!(
        err.contains("x.toml") && err.contains("learning_rate"),
        "{err}"
    );
    let err = TrainConfig::from_toml("algo = \"ppo\"\n", "x.toml").unwrap_err();
    assert!(err.contains("ppo"), "{err}");
}

#[test]
fn invalid_combinations_are_named() {
    let err = TrainConfig::from_toml(
        "algo = \"dqn\"\n[risk]\nkind = \"cvar\"\nalpha = 0.1\n",
        "d.toml",
    )
    .unwrap_err();
    assert!(err.contains("dqn learns only the mean"), "{err}");
    let err = TrainConfig::from_toml(
        "algo = \"sac\"\n[sac]\ntarget_entropy_ratio = 2\n",
        "s.toml",
    )
    .unwrap_err();
    assert!(
        err.contains("s.toml") && err.contains("target_entropy_ratio"),
        "{err}"
    );
    let err = TrainConfig::from_toml("[training]\ngamma = 1.5\n", "g.toml").unwrap_err();
    assert!(err.contains("gamma"), "{err}");
    let err =
        TrainConfig::from_toml("[env.actions]\nkind = \"continuous\"\n", "c.toml").unwrap_err();
    assert!(err.contains("discrete"), "{err}");
    // The planner's columns on a grid finer than their names (1 % of capacity) can tell apart.
    let err = TrainConfig::from_toml(
        "algo = \"qr-dqn\"\n[env.battery]\nsoc_min = 0.4\nsoc_max = 0.6\n\
         [forecast_features.plan]\nsoc_points = 41\n",
        "p.toml",
    )
    .unwrap_err();
    assert!(
        err.contains("p.toml") && err.contains("forecast_features.plan.soc_points = 41"),
        "{err}"
    );
    // A residual agent counts levels from the plan's move: waiting must be a level.
    for actions in ["kind = \"discrete\"\nlevels = 4", "kind = \"continuous\""] {
        let err = TrainConfig::from_toml(
            &format!(
                "algo = \"dsac\"\n[env.actions]\n{actions}\n[forecast_features.plan]\nresidual = true\n"
            ),
            "r.toml",
        )
        .unwrap_err();
        assert!(
            err.contains("r.toml") && err.contains("forecast_features.plan.residual"),
            "{err}"
        );
    }
    let ok = "algo = \"qr-dqn\"\n[env.actions]\nkind = \"discrete\"\nlevels = 5\n\
              [forecast_features.plan]\nresidual = true\n";
    let config = TrainConfig::from_toml(ok, "r.toml").expect("five levels");
    assert!(config.residual_plan().is_some());
}

#[test]
fn every_shipped_config_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut algos = vec![];
    for entry in std::fs::read_dir(&dir).expect("configs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).expect("readable");
            let c = TrainConfig::from_toml(&text, &path.display().to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            algos.push(c.algo);
        }
    }
    for algo in [
        Algo::Dqn,
        Algo::C51,
        Algo::QrDqn,
        Algo::Iqn,
        Algo::Sac,
        Algo::Dsac,
    ] {
        assert!(algos.contains(&algo), "no config for {algo:?}");
    }
}

#[test]
fn the_cap_picks_the_return_length_and_the_record_keeps_only_the_used_one() {
    let text = "[training]\nn_step = 3\nn_step_with_cap = 10\n";
    let mut free = TrainConfig::from_toml(text, "n.toml").unwrap();
    let mut capped = free.clone();
    capped.env.battery.cycles_per_day = Some(1.1);
    assert_eq!((free.n_step(), capped.n_step()), (3, 10));
    free.resolve_for_cap();
    capped.resolve_for_cap();
    assert_eq!(
        (free.training.n_step, capped.training.n_step),
        (3, 10),
        "resolving keeps the n the run uses"
    );
    assert_eq!(capped.n_step(), 10, "and the resolved config still says it");
    // The resolved config equals one that set that n directly, field for field and as text
    // (a run recorded before the field existed still matches).
    let mut direct = TrainConfig::from_toml("[training]\nn_step = 10\n", "d.toml").unwrap();
    direct.env.battery.cycles_per_day = Some(1.1);
    assert_eq!(capped, direct);
    assert!(!capped.to_toml().contains("n_step_with_cap"));
    assert_eq!(capped.to_toml(), direct.to_toml());
    let err = TrainConfig::from_toml("[training]\nn_step_with_cap = 0\n", "z.toml").unwrap_err();
    assert!(
        err.contains("z.toml") && err.contains("n_step_with_cap"),
        "{err}"
    );
}

#[test]
fn epsilon_decays_linearly() {
    let mut c = TrainConfig::default();
    c.training.epsilon_start = 1.0;
    c.training.epsilon_end = 0.1;
    c.training.epsilon_decay_steps = 100;
    assert_eq!(c.epsilon(0), 1.0);
    assert!((c.epsilon(50) - 0.55).abs() < 1e-12);
    assert!((c.epsilon(1000) - 0.1).abs() < 1e-12);
}
