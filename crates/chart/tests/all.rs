//! Every integration test of gatehouse-chart, in one test binary (one build and
//! link instead of one per file). Each file stays a module under its own name
//! (`cargo test -p gatehouse-chart --test all chart_render::` runs one file's tests).
//! A new test file is registered here, as a module; the workspace test
//! `every_test_file_is_compiled` (xtask) fails while a file is not.
// Each file that declares `mod common;` keeps its own copy, as when each file was a binary.
#![allow(clippy::duplicate_mod)]

#[path = "chart_render.rs"]
mod chart_render;

#[path = "contract.rs"]
mod contract;

#[path = "drift.rs"]
mod drift;

#[path = "plugin_script.rs"]
mod plugin_script;

#[path = "schema.rs"]
mod schema;

#[path = "yaml11.rs"]
mod yaml11;
