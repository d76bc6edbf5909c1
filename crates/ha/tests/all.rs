//! Every integration test of gatehouse-ha, in one test binary (one build and
//! link instead of one per file). Each file stays a module under its own name
//! (`cargo test -p gatehouse-ha --test all faults::` runs one file's tests).
//! A new test file is registered here, as a module; the workspace test
//! `every_test_file_is_compiled` (xtask) fails while a file is not.
// Each file that declares `mod common;` keeps its own copy, as when each file was a binary.
#![allow(clippy::duplicate_mod)]

#[path = "faults.rs"]
mod faults;

#[path = "guide_regression.rs"]
mod guide_regression;

#[path = "rollout.rs"]
mod rollout;

#[path = "scenarios.rs"]
mod scenarios;

#[path = "status.rs"]
mod status;

#[path = "tls.rs"]
mod tls;

#[path = "acl.rs"]
mod acl;

#[path = "metrics.rs"]
mod metrics;

#[path = "rotation.rs"]
mod rotation;

#[path = "upgrade.rs"]
mod upgrade;
