//! Nothing to call: this crate exists for its `Cargo.toml`, which turns on, on the side of the
//! build scripts, the features the rest of the workspace turns on (see the comment there and
//! ARCHITECTURE.md, "One compiled copy of each crate").
