//! Hostile tests: parsers.
