//! Property tests (see tests/lib.rs).
