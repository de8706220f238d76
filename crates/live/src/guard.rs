//! The drift guard: judges, once a day, whether the deployed model has stopped earning what it
//! should, from the booked P&L of closed days since it took control. It alerts when the model
//! trails the best shadow by more than a margin over a rolling window, when a day's loss exceeds a
//! bound, or when too many days of the window lost money; configured to, it hands control to the
//! best shadow. Pure: the service feeds it days and acts on its verdict.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// `[guard]` in `live.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Closed days the trailing and losing-day checks look back over (and the model's days in
    /// control before they judge).
    pub window_days: u32,
    /// Alert when the model's mean daily P&L over the window is below the best shadow's by more
    /// than this, EUR/day.
    pub margin_eur_per_day: f64,
    /// Alert when a closed day's P&L is below minus this, EUR.
    pub max_daily_loss_eur: Option<f64>,
    /// Alert when more than this share of the window's days lost money (0..1).
    pub max_losing_day_share: Option<f64>,
    /// On an alert, hand control to the best shadow (else only alert).
    pub handover: bool,
    /// While a shadow decides, the closed days over which another shadow must have earned more
    /// than it (by the margin) to take control (unset: `window_days`). Longer than the model's
    /// window, it keeps control from changing hands between baselines on a week's noise.
    pub shadow_window_days: Option<u32>,
    /// While a shadow decides, give control back to the model when its own book (its simulated
    /// battery) earned more than the shadow in control over the last `window_days` closed days.
    /// Without it only an operator or a new model restores the model.
    pub return_to_model: bool,
    /// Ask a shadow's lead to be evidence, not a week's noise: the trailing alert (and, while a
    /// shadow decides, the move to another shadow) also needs the leader's daily P&L to beat the
    /// one judged at this one-sided confidence (a paired Student t test over the window's days,
    /// as a residual agent's networks must beat its planner). Unset: the margin alone decides.
    pub confidence: Option<f64>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            window_days: 7,
            margin_eur_per_day: 0.0,
            max_daily_loss_eur: None,
            max_losing_day_share: None,
            handover: false,
            shadow_window_days: None,
            return_to_model: false,
            confidence: None,
        }
    }
}

impl GuardConfig {
    /// Checks the numbers, naming the key.
    pub fn check(&self) -> Result<(), String> {
        use imbarb_util::range::Range;
        let e = |e: imbarb_util::range::OutOfRange| format!("guard.{e}");
        Range::closed(1.0, 366.0)
            .check("window_days", f64::from(self.window_days))
            .map_err(e)?;
        Range::closed(0.0, 1e9)
            .check("margin_eur_per_day", self.margin_eur_per_day)
            .map_err(e)?;
        if let Some(days) = self.shadow_window_days {
            Range::closed(1.0, 366.0)
                .check("shadow_window_days", f64::from(days))
                .map_err(e)?;
        }
        if let Some(x) = self.max_daily_loss_eur {
            Range::closed(0.0, 1e9)
                .check("max_daily_loss_eur", x)
                .map_err(e)?;
        }
        if let Some(c) = self.confidence {
            Range::below(0.0, 1.0).check("confidence", c).map_err(e)?;
        }
        if let Some(x) = self.max_losing_day_share {
            Range::closed(0.0, 1.0)
                .check("max_losing_day_share", x)
                .map_err(e)?;
        }
        Ok(())
    }
}

/// One closed day as the guard sees it: the model's P&L and each shadow's (`None` for a shadow
/// that could not decide all day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayResult {
    /// The Brussels day.
    pub day: NaiveDate,
    /// What the model earned (in control: the real set-points; else its own simulated battery).
    pub model_eur: f64,
    /// What each shadow would have earned.
    pub shadows: Vec<(String, Option<f64>)>,
}

/// Why the guard alerted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Alert {
    /// The model trailed the best shadow over the window.
    Trailing {
        /// The best shadow.
        shadow: String,
        /// Its mean daily P&L over the window, EUR/day.
        shadow_eur_per_day: f64,
        /// The model's, EUR/day.
        model_eur_per_day: f64,
        /// The margin allowed, EUR/day.
        margin_eur_per_day: f64,
        /// The confidence at which the shadow's lead was significant (`[guard] confidence`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f64>,
        /// The window's days.
        days: u32,
    },
    /// A day lost more than allowed.
    DailyLoss {
        /// The day.
        day: NaiveDate,
        /// Its P&L, EUR.
        eur: f64,
        /// The bound, EUR.
        bound_eur: f64,
    },
    /// The shadow in control trailed another shadow over the window.
    ShadowTrailing {
        /// The shadow in control.
        controller: String,
        /// Its mean daily P&L over the window, EUR/day.
        controller_eur_per_day: f64,
        /// The better shadow.
        shadow: String,
        /// Its mean, EUR/day.
        shadow_eur_per_day: f64,
        /// The window's days.
        days: u32,
    },
    /// While a shadow decided, the model's own book earned more than it over the window (with
    /// `return_to_model`, control goes back to the model).
    ModelLeads {
        /// The shadow in control.
        controller: String,
        /// Its mean daily P&L over the window, EUR/day.
        controller_eur_per_day: f64,
        /// The model's own book's, EUR/day.
        model_eur_per_day: f64,
        /// The window's days.
        days: u32,
    },
    /// Too many losing days in the window.
    LosingDays {
        /// Losing days in the window.
        losing: u32,
        /// The window's days.
        days: u32,
        /// The share allowed.
        bound: f64,
    },
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::Trailing {
                shadow,
                shadow_eur_per_day,
                model_eur_per_day,
                margin_eur_per_day,
                confidence,
                days,
            } => {
                write!(
                    f,
                    "the model earned {model_eur_per_day:.1} EUR/day over {days} days, the {shadow} shadow {shadow_eur_per_day:.1} (margin {margin_eur_per_day:.1}"
                )?;
                if let Some(c) = confidence {
                    write!(f, "; a lead significant at {c}")?;
                }
                f.write_str(")")
            }
            Alert::DailyLoss {
                day,
                eur,
                bound_eur,
            } => write!(f, "the model lost {:.1} EUR on {day} (bound {bound_eur:.1})", -eur),
            Alert::ShadowTrailing {
                controller,
                controller_eur_per_day,
                shadow,
                shadow_eur_per_day,
                days,
            } => write!(
                f,
                "the {controller} shadow in control earned {controller_eur_per_day:.1} EUR/day over {days} days, the {shadow} shadow {shadow_eur_per_day:.1}"
            ),
            Alert::ModelLeads {
                controller,
                controller_eur_per_day,
                model_eur_per_day,
                days,
            } => write!(
                f,
                "the model's own book earned {model_eur_per_day:.1} EUR/day over {days} days, the {controller} shadow in control {controller_eur_per_day:.1}"
            ),
            Alert::LosingDays {
                losing,
                days,
                bound,
            } => write!(
                f,
                "the model lost money on {losing} of {days} days (bound {:.0} %)",
                bound * 100.0
            ),
        }
    }
}

/// The guard's judgement of the closed days since the model took control (oldest first).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Verdict {
    /// What is wrong (empty: nothing).
    pub alerts: Vec<Alert>,
    /// The shadow with the best mean over the window among those that decided every day of it.
    pub best_shadow: Option<(String, f64)>,
}

/// Judges `days` (closed days since the model took control, oldest first) under `config`.
pub fn judge(config: &GuardConfig, days: &[DayResult]) -> Verdict {
    let mut verdict = Verdict::default();
    if let (Some(bound), Some(last)) = (config.max_daily_loss_eur, days.last()) {
        if last.model_eur < -bound {
            verdict.alerts.push(Alert::DailyLoss {
                day: last.day,
                eur: last.model_eur,
                bound_eur: bound,
            });
        }
    }
    let n = config.window_days as usize;
    let Some(window) = last_window(days, n) else {
        return verdict;
    };
    let model_mean = model_mean(window);
    let shadows = shadow_days(window);
    verdict.best_shadow = best(&means_of(&shadows));
    if let Some((shadow, mean)) = &verdict.best_shadow {
        let model: Vec<f64> = window.iter().map(|d| d.model_eur).collect();
        if model_mean < mean - config.margin_eur_per_day
            && leads(config, days_of(&shadows, shadow), &model)
        {
            verdict.alerts.push(Alert::Trailing {
                shadow: shadow.clone(),
                shadow_eur_per_day: *mean,
                model_eur_per_day: model_mean,
                margin_eur_per_day: config.margin_eur_per_day,
                confidence: config.confidence,
                days: config.window_days,
            });
        }
    }
    if let Some(bound) = config.max_losing_day_share {
        let losing = window.iter().filter(|d| d.model_eur < 0.0).count();
        if losing as f64 > bound * n as f64 {
            verdict.alerts.push(Alert::LosingDays {
                losing: losing as u32,
                days: config.window_days,
                bound,
            });
        }
    }
    verdict
}

/// The last `n` of `days`, when there are that many (a window is judged only when full).
fn last_window(days: &[DayResult], n: usize) -> Option<&[DayResult]> {
    (n > 0 && days.len() >= n).then(|| &days[days.len() - n..])
}

/// The model's mean daily P&L over `window`, EUR/day.
fn model_mean(window: &[DayResult]) -> f64 {
    window.iter().map(|d| d.model_eur).sum::<f64>() / window.len() as f64
}

/// Each shadow's daily P&L over `window`, for the shadows that decided every day of it.
fn shadow_days(window: &[DayResult]) -> Vec<(String, Vec<f64>)> {
    let Some(first) = window.first() else {
        return vec![];
    };
    first
        .shadows
        .iter()
        .enumerate()
        .filter_map(|(k, (name, _))| {
            let values: Option<Vec<f64>> = window
                .iter()
                .map(|d| d.shadows.get(k).filter(|s| s.0 == *name).and_then(|s| s.1))
                .collect();
            values.map(|v| (name.clone(), v))
        })
        .collect()
}

/// Each of `shadows`' mean daily P&L.
fn means_of(shadows: &[(String, Vec<f64>)]) -> Vec<(String, f64)> {
    shadows
        .iter()
        .map(|(name, v)| (name.clone(), v.iter().sum::<f64>() / v.len().max(1) as f64))
        .collect()
}

/// The daily P&L of the shadow called `name` among `shadows` (empty when absent).
fn days_of<'a>(shadows: &'a [(String, Vec<f64>)], name: &str) -> &'a [f64] {
    shadows
        .iter()
        .find(|(n, _)| n == name)
        .map_or(&[], |(_, v)| v.as_slice())
}

/// Whether `leader`'s days beat `other`'s as `config.confidence` asks (always, unset).
fn leads(config: &GuardConfig, leader: &[f64], other: &[f64]) -> bool {
    config
        .confidence
        .is_none_or(|c| imbarb_agents::trainer::significant_lead(leader, other, c))
}

fn best(means: &[(String, f64)]) -> Option<(String, f64)> {
    means.iter().cloned().max_by(|a, b| a.1.total_cmp(&b.1))
}

/// While the shadow `controller` decides: the shadow that earned more than it by more than the
/// margin over the last full shadow window of `days` (closed days since it took control), if
/// any. The guard then hands control on to that one, so control follows the best shadow rather
/// than the one that happened to lead when the model was caught.
pub fn judge_shadow(config: &GuardConfig, days: &[DayResult], controller: &str) -> Option<Alert> {
    let n = config.shadow_window_days.unwrap_or(config.window_days) as usize;
    let shadows = shadow_days(last_window(days, n)?);
    let means = means_of(&shadows);
    let own = means.iter().find(|m| m.0 == controller)?.1;
    let (shadow, mean) = best(&means)?;
    (shadow != controller
        && own < mean - config.margin_eur_per_day
        && leads(
            config,
            days_of(&shadows, &shadow),
            days_of(&shadows, controller),
        ))
    .then(|| Alert::ShadowTrailing {
        controller: controller.to_string(),
        controller_eur_per_day: own,
        shadow,
        shadow_eur_per_day: mean,
        days: n as u32,
    })
}

/// While the shadow `controller` decides: whether the model's own book earned more than the
/// controller over the last full `window_days` of `days` (closed days since it took control).
/// The model is the champion and the shadows its fallbacks: a lead, not a margin, earns control
/// back. `None` when the window is not full or the controller missed a day of it.
pub fn judge_return(config: &GuardConfig, days: &[DayResult], controller: &str) -> Option<Alert> {
    let n = config.window_days as usize;
    let window = last_window(days, n)?;
    let own = means_of(&shadow_days(window))
        .into_iter()
        .find(|m| m.0 == controller)?
        .1;
    let model = model_mean(window);
    (model > own).then(|| Alert::ModelLeads {
        controller: controller.to_string(),
        controller_eur_per_day: own,
        model_eur_per_day: model,
        days: n as u32,
    })
}

/// Whether `alert` is a problem to count (a model's lead is evidence, not an alarm).
pub fn is_alarm(alert: &Alert) -> bool {
    !matches!(alert, Alert::ModelLeads { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(model: &[f64], rule: &[Option<f64>], mpc: &[Option<f64>]) -> Vec<DayResult> {
        let d0 = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
        (0..model.len())
            .map(|i| DayResult {
                day: d0 + chrono::TimeDelta::days(i as i64),
                model_eur: model[i],
                shadows: vec![("rule".into(), rule[i]), ("mpc".into(), mpc[i])],
            })
            .collect()
    }

    #[test]
    fn trailing_is_judged_on_a_full_window_against_the_best_complete_shadow() {
        let config = GuardConfig {
            window_days: 3,
            margin_eur_per_day: 10.0,
            ..GuardConfig::default()
        };
        let model = [100.0, 100.0, 100.0, 100.0];
        let rule = [Some(200.0); 4];
        // The MPC is better still, but missed a day of the last three: not a fair comparison.
        let mpc = [Some(500.0), Some(500.0), None, Some(500.0)];
        // Two days: the window is not full yet.
        assert!(judge(&config, &days(&model[..2], &rule[..2], &mpc[..2]))
            .alerts
            .is_empty());
        let v = judge(&config, &days(&model, &rule, &mpc));
        assert_eq!(v.best_shadow, Some(("rule".into(), 200.0)));
        assert_eq!(
            v.alerts,
            vec![Alert::Trailing {
                shadow: "rule".into(),
                shadow_eur_per_day: 200.0,
                model_eur_per_day: 100.0,
                margin_eur_per_day: 10.0,
                confidence: None,
                days: 3
            }]
        );
        // Within the margin: no alert.
        let close = [Some(105.0); 4];
        assert!(judge(&config, &days(&model, &close, &close))
            .alerts
            .is_empty());
    }

    #[test]
    fn with_a_confidence_a_lead_must_be_significant_to_alert_or_move_control() {
        // The rule leads the model (100 a day) by 140, 20, 60, -40, 70: mean 50, sample sd
        // sqrt(17600 / 4) = 66.33, t = 50 / (66.33 / sqrt 5) = 1.686 with 4 degrees of freedom,
        // between the t quantiles at 0.9 (1.533) and 0.95 (2.132).
        let model = [100.0; 5];
        let rule = [240.0, 120.0, 160.0, 60.0, 170.0].map(Some);
        let mpc = [Some(100.0); 5];
        let d = days(&model, &rule, &mpc);
        let at = |confidence| GuardConfig {
            window_days: 5,
            margin_eur_per_day: 10.0,
            confidence,
            ..GuardConfig::default()
        };
        let trailing = |c| {
            judge(&at(c), &d)
                .alerts
                .iter()
                .any(|a| matches!(a, Alert::Trailing { shadow, .. } if shadow == "rule"))
        };
        assert!(trailing(None));
        assert!(trailing(Some(0.9)));
        let said = judge(&at(Some(0.9)), &d).alerts[0].to_string();
        assert!(said.contains("a lead significant at 0.9"), "{said}");
        assert!(!trailing(Some(0.95)));
        // The best shadow is named either way: only the alert waits for evidence.
        assert_eq!(
            judge(&at(Some(0.95)), &d).best_shadow,
            Some(("rule".into(), 150.0))
        );
        // The MPC in control (level with the model) hands on to the rule on the same evidence.
        assert!(judge_shadow(&at(Some(0.9)), &d, "mpc").is_some());
        assert!(judge_shadow(&at(Some(0.95)), &d, "mpc").is_none());
        // Below the margin nothing alerts, however consistent the lead.
        let steady = days(&model, &[Some(105.0); 5], &mpc);
        assert!(judge(&at(Some(0.5)), &steady).alerts.is_empty());
    }

    #[test]
    fn losses_alert_on_their_bounds_only() {
        let config = GuardConfig {
            window_days: 4,
            margin_eur_per_day: 1e6,
            max_daily_loss_eur: Some(50.0),
            max_losing_day_share: Some(0.5),
            ..GuardConfig::default()
        };
        let none = [None; 4];
        // Two losing days of four: exactly the bound, no alert; the last day lost 40 < 50.
        let v = judge(&config, &days(&[-10.0, 30.0, 20.0, -40.0], &none, &none));
        assert!(v.alerts.is_empty(), "{:?}", v.alerts);
        let v = judge(&config, &days(&[-10.0, -30.0, 20.0, -60.0], &none, &none));
        assert_eq!(v.alerts.len(), 2, "{:?}", v.alerts);
        assert!(matches!(v.alerts[0], Alert::DailyLoss { eur, .. } if eur == -60.0));
        assert!(matches!(v.alerts[1], Alert::LosingDays { losing: 3, .. }));
        assert!(v.alerts[1].to_string().contains("3 of 4 days"));
    }

    #[test]
    fn control_moves_on_to_a_shadow_that_beats_the_one_in_control() {
        let config = GuardConfig {
            window_days: 2,
            margin_eur_per_day: 5.0,
            ..GuardConfig::default()
        };
        let model = [0.0; 3];
        let rule = [Some(100.0), Some(100.0), Some(100.0)];
        // One day of the window only: no judgement.
        assert!(judge_shadow(
            &config,
            &days(&model[..1], &rule[..1], &[Some(500.0)]),
            "rule"
        )
        .is_none());
        // Within the margin: stays.
        let close = [Some(104.0); 3];
        assert!(judge_shadow(&config, &days(&model, &rule, &close), "rule").is_none());
        let mpc = [Some(0.0), Some(200.0), Some(200.0)];
        assert_eq!(
            judge_shadow(&config, &days(&model, &rule, &mpc), "rule"),
            Some(Alert::ShadowTrailing {
                controller: "rule".into(),
                controller_eur_per_day: 100.0,
                shadow: "mpc".into(),
                shadow_eur_per_day: 200.0,
                days: 2
            })
        );
        // The best in control stays; a controller missing a day is not judged.
        assert!(judge_shadow(&config, &days(&model, &rule, &mpc), "mpc").is_none());
        let gap = [Some(100.0), None, Some(100.0)];
        assert!(judge_shadow(&config, &days(&model, &gap, &mpc), "rule").is_none());
    }

    #[test]
    fn a_longer_shadow_window_keeps_control_through_a_weeks_lead() {
        // The MPC earns more over 28 days; the rule leads over the last 7 only.
        let mut mpc = vec![Some(300.0); 21];
        mpc.extend([Some(100.0); 7]);
        let mut rule = vec![Some(150.0); 21];
        rule.extend([Some(200.0); 7]);
        let d = days(&[0.0; 28], &rule, &mpc);
        let week = GuardConfig {
            window_days: 7,
            ..GuardConfig::default()
        };
        assert!(matches!(
            judge_shadow(&week, &d, "mpc"),
            Some(Alert::ShadowTrailing { ref shadow, days: 7, .. }) if shadow == "rule"
        ));
        let month = GuardConfig {
            shadow_window_days: Some(28),
            ..week.clone()
        };
        assert!(judge_shadow(&month, &d, "mpc").is_none());
        // Until 28 days have closed under the shadow, it is not judged at all.
        assert!(judge_shadow(&month, &d[..27], "mpc").is_none());
        // Over 28 days the rule in control trails the MPC and hands on to it.
        assert!(matches!(
            judge_shadow(&month, &d, "rule"),
            Some(Alert::ShadowTrailing { ref shadow, days: 28, .. }) if shadow == "mpc"
        ));
        // The model's own window is untouched: it is judged on 7 days.
        let v = judge(&month, &d);
        assert!(matches!(&v.alerts[..], [Alert::Trailing { days: 7, .. }]));
    }

    #[test]
    fn control_returns_to_the_model_when_its_own_book_leads_over_a_full_window() {
        let config = GuardConfig {
            window_days: 3,
            margin_eur_per_day: 50.0,
            ..GuardConfig::default()
        };
        let rule = [Some(100.0); 4];
        let mpc = [Some(50.0); 4];
        // Two days of three: not judged, however far the model leads.
        let d = days(&[900.0, 900.0], &rule[..2], &mpc[..2]);
        assert!(judge_return(&config, &d, "rule").is_none());
        // Level is not a lead; the margin does not apply to a return.
        let d = days(&[100.0, 90.0, 110.0, 100.0], &rule, &mpc);
        assert!(judge_return(&config, &d, "rule").is_none());
        let d = days(&[0.0, 90.0, 110.0, 101.0], &rule, &mpc);
        assert_eq!(
            judge_return(&config, &d, "rule"),
            Some(Alert::ModelLeads {
                controller: "rule".into(),
                controller_eur_per_day: 100.0,
                model_eur_per_day: 301.0 / 3.0,
                days: 3
            })
        );
        // Judged against the shadow in control, not the best one; a controller that missed a
        // day of the window is not judged.
        assert!(judge_return(&config, &d, "mpc").is_some());
        let gap = [Some(100.0), Some(100.0), None, Some(100.0)];
        assert!(judge_return(&config, &days(&[500.0; 4], &gap, &mpc), "rule").is_none());
        assert!(!is_alarm(&judge_return(&config, &d, "rule").unwrap()));
    }

    #[test]
    fn bad_numbers_are_refused_by_name() {
        let c = GuardConfig {
            max_losing_day_share: Some(1.5),
            ..GuardConfig::default()
        };
        assert!(c.check().unwrap_err().contains("max_losing_day_share"));
        let c = GuardConfig {
            window_days: 0,
            ..GuardConfig::default()
        };
        assert!(c.check().unwrap_err().contains("window_days"));
        let c = GuardConfig {
            shadow_window_days: Some(0),
            ..GuardConfig::default()
        };
        assert!(c.check().unwrap_err().contains("guard.shadow_window_days"));
        for bad in [1.0, -0.1, f64::NAN, f64::INFINITY] {
            let c = GuardConfig {
                confidence: Some(bad),
                ..GuardConfig::default()
            };
            assert!(c.check().unwrap_err().contains("guard.confidence"), "{bad}");
        }
    }
}
