//! What operators set and see: the settings, the Prometheus metrics, each room's status, the
//! tick-time summary in the log, and throttled warnings.

pub mod config;
pub(crate) mod log_throttle;
pub(crate) mod metrics;
pub(crate) mod status;
pub(crate) mod tick_stats;
