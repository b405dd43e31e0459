//! transform (work in progress)
