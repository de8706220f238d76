//! What this crate's integration tests share: a policy wrapper that records every decision a
//! backtest takes, so a test can replay it through another path (`decide`, the plan rebuilt one
//! quarter-hour at a time) and compare.
#![allow(dead_code)] // each test binary reads the fields it compares

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_agents::decide::BatteryState;
use imbarb_sim::{Action, Decision, MarketDays, Policy};

/// One decision of a backtest: its day, grid quarter-hour and time, the battery then, the
/// levels allowed, and what the policy did.
#[derive(Debug, Clone)]
pub struct Taken {
    pub date: NaiveDate,
    pub g: usize,
    pub at: DateTime<Utc>,
    pub state: BatteryState,
    pub mask: Vec<bool>,
    pub action: Action,
}

/// `inner`, recording every decision it takes on `days`.
pub struct Recording<'a> {
    pub inner: Box<dyn Policy + 'a>,
    pub days: &'a MarketDays,
    pub taken: Vec<Taken>,
}

impl<'a> Recording<'a> {
    /// Records `inner` acting on `days`.
    pub fn new(inner: Box<dyn Policy + 'a>, days: &'a MarketDays) -> Recording<'a> {
        Recording {
            inner,
            days,
            taken: vec![],
        }
    }
}

impl Policy for Recording<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn act(&mut self, d: &Decision) -> Action {
        let action = self.inner.act(d);
        let day = &self.days.days[d.day_index];
        let g = day.grid_offset + d.qh;
        self.taken.push(Taken {
            date: day.date,
            g,
            at: self.days.qh_start(g) + TimeDelta::minutes(d.minute as i64),
            state: BatteryState {
                soc_mwh: d.soc_mwh,
                cycles_used: d.cycles_used,
            },
            mask: d.mask.to_vec(),
            action,
        });
        action
    }

    fn start_day(&mut self, date: NaiveDate) {
        self.inner.start_day(date);
    }
}
