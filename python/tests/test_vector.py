"""The vector environment: step for step equal to Gymnasium's SyncVectorEnv of single
environments on the same seed, in both autoreset modes; its spaces; the SB3 adapter."""

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import imbarb

N = 4
STEPS = 300  # three days per environment: every one resets at least twice


def singles(autoreset_mode, **kwargs):
    return SyncVectorEnv(
        [lambda: imbarb.make_env(**kwargs) for _ in range(N)],
        autoreset_mode=autoreset_mode,
    )


def actions_for(rng, continuous):
    if continuous:
        return rng.uniform(-1, 1, size=(N, 1)).astype(np.float32)
    return rng.integers(0, 3, size=N)


@pytest.mark.parametrize("continuous", [False, True], ids=["levels", "continuous"])
def test_next_step_autoreset_equals_sync_vector_env(continuous):
    kwargs = dict(data="synthetic", actions="continuous" if continuous else "discrete:3")
    ours = imbarb.make_vec_env(num_envs=N, **kwargs)
    theirs = singles(AutoresetMode.NEXT_STEP, **kwargs)
    o1, _ = ours.reset(seed=11)
    o2, _ = theirs.reset(seed=11)
    np.testing.assert_array_equal(o1, o2)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(STEPS):
        a = actions_for(rng, continuous)
        r1 = ours.step(a)
        r2 = theirs.step(a)
        for x, y in zip(r1[:4], r2[:4]):
            np.testing.assert_array_equal(x, y)
        soc2 = np.where(r2[4]["_soc_mwh"], r2[4]["soc_mwh"], r1[4]["soc_mwh"])
        np.testing.assert_array_equal(r1[4]["soc_mwh"], soc2)
        ended += int((r1[2] | r1[3]).sum())
    assert ended >= 2 * N


def test_same_step_autoreset_equals_sync_vector_env():
    ours = imbarb.make_vec_env(num_envs=N, data="synthetic", autoreset="same_step")
    theirs = singles(AutoresetMode.SAME_STEP, data="synthetic")
    np.testing.assert_array_equal(ours.reset(seed=3)[0], theirs.reset(seed=3)[0])
    rng = np.random.default_rng(1)
    finals = limited = 0
    for _ in range(STEPS):
        a = rng.integers(0, 3, size=N)
        r1 = ours.step(a)
        r2 = theirs.step(a)
        for x, y in zip(r1[:4], r2[:4]):
            np.testing.assert_array_equal(x, y)
        if "_final_obs" in r2[4]:
            mask = r2[4]["_final_obs"]
            np.testing.assert_array_equal(r1[4]["_final_obs"], mask)
            np.testing.assert_array_equal(r1[4]["_final_action_mask"], mask)
            for i in np.flatnonzero(mask):
                np.testing.assert_array_equal(r1[4]["final_obs"][i], r2[4]["final_obs"][i])
                # The levels allowed from the final observation: the single environment's mask
                # at its last step (Gymnasium keeps that step's info in final_info).
                np.testing.assert_array_equal(
                    r1[4]["final_action_mask"][i], r2[4]["final_info"]["action_mask"][i]
                )
                finals += 1
                limited += not r1[4]["final_action_mask"][i].all()
        else:
            assert "_final_obs" not in r1[4]
    assert finals >= 2 * N
    assert limited > 0, "every final mask allowed every level: the comparison above proves little"


def test_spaces_and_masks(root, monkeypatch):
    monkeypatch.chdir(root)
    env = imbarb.make_vec_env(config="configs/qrdqn.toml", num_envs=8, cap=1.1)
    obs, info = env.reset(seed=0)
    assert obs.shape == (8, env.single_observation_space.shape[0])
    assert obs in env.observation_space
    assert env.action_space.shape == (8,)
    rng = np.random.default_rng(0)
    for _ in range(200):
        obs, r, term, trunc, info = env.step(rng.integers(0, 3, size=8))
        assert obs.dtype == np.float32 and r.shape == (8,)
        # With a 1.1-cycle cap the budget runs out: masks forbid what cannot be done in full.
        assert info["action_mask"].shape == (8, 3)
        assert (info["cycles"] <= 1.1 + 1e-9).all()
    assert not info["action_mask"].all()


def test_vector_errors():
    env = imbarb.make_vec_env(data="synthetic", num_envs=2)
    env.reset(seed=0)
    with pytest.raises(imbarb.ImbarbError, match="expected a level"):
        env.step(np.array([0, 7]))
    with pytest.raises(imbarb.ImbarbError, match="2 given for 3"):
        imbarb.make_vec_env(data="synthetic", num_envs=3).reset(options={"days": [0, 1]})
    for n in (0, -1, 10**9):
        with pytest.raises((imbarb.ImbarbError, OverflowError), match="num_envs"):
            imbarb.make_vec_env(data="synthetic", num_envs=n)
    for scale in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(imbarb.ImbarbError, match="reward_scale"):
            imbarb.make_vec_env(data="synthetic", reward_scale=scale)
    with pytest.raises(imbarb.ImbarbError, match="autoreset"):
        imbarb.make_vec_env(data="synthetic", autoreset="later")


def test_sb3_adapter_trains_a_dqn_briefly():
    # The one-minute smoke of the SB3 side-by-side (bench/peer_sb3.py): SB3 learns on the
    # adapter, truncation at midnight carries the next day's start, and backtest books it.
    sb3 = pytest.importorskip("stable_baselines3")
    from imbarb.sb3 import make_sb3_vec_env

    venv = make_sb3_vec_env(num_envs=4, data="synthetic", reward_scale=0.01)
    model = sb3.DQN(
        "MlpPolicy",
        venv,
        learning_starts=200,
        batch_size=32,
        train_freq=1,
        gradient_steps=1,
        n_steps=3,
        policy_kwargs={"net_arch": [32]},
        seed=0,
        device="cpu",
    )
    model.learn(total_timesteps=2_000)
    assert model.num_timesteps >= 2_000
    dones_seen = 0
    obs = venv.reset()
    for _ in range(100):
        actions, _ = model.predict(obs, deterministic=True)
        obs, rewards, dones, infos = venv.step(actions)
        for i in np.flatnonzero(dones):
            assert infos[i]["TimeLimit.truncated"] in (True, False)
            assert infos[i]["terminal_observation"].shape == obs[i].shape
            dones_seen += 1
    assert dones_seen >= 4
    result = imbarb.backtest(model, data="synthetic", days="validation", name="sb3-dqn")
    assert result.policy == "sb3-dqn" and result.metrics["days"] == len(result.daily)
