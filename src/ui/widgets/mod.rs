//! Reusable widgets.

pub mod json_tree;
pub mod text_lines;
