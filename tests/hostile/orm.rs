//! Hostile tests: orm.
