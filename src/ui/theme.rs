//! Colours and sizes used across views: the one place colours are defined.

// The theme is where colours are made; clippy.toml forbids `Color32::from_rgb` elsewhere.
#![allow(clippy::disallowed_methods)]

use egui::Color32;

/// Height of a table row, in points (tables are virtualised on fixed-height rows).
pub const ROW_HEIGHT: f32 = 20.0;

/// Colours that depend on light/dark mode.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    /// JSON keys.
    pub key: Color32,
    /// JSON strings.
    pub string: Color32,
    /// JSON numbers.
    pub number: Color32,
    /// JSON booleans and null.
    pub literal: Color32,
    /// Muted text (placeholders, secondary info).
    pub muted: Color32,
    /// Errors.
    pub error: Color32,
    /// Warnings and notices.
    pub warning: Color32,
    /// Links (ids that navigate).
    pub link: Color32,
    /// Diff: added (background tint).
    pub added: Color32,
    /// Diff: removed (background tint).
    pub removed: Color32,
    /// Diff: changed (background tint).
    pub changed: Color32,
}

/// The palette for the current visuals.
#[must_use]
pub fn palette(ui: &egui::Ui) -> Palette {
    if ui.visuals().dark_mode {
        Palette {
            key: Color32::from_rgb(156, 200, 255),
            string: Color32::from_rgb(206, 170, 120),
            number: Color32::from_rgb(150, 220, 160),
            literal: Color32::from_rgb(200, 150, 230),
            muted: Color32::from_gray(140),
            error: Color32::from_rgb(255, 110, 100),
            warning: Color32::from_rgb(240, 190, 80),
            link: Color32::from_rgb(110, 170, 255),
            added: Color32::from_rgba_unmultiplied(60, 170, 80, 70),
            removed: Color32::from_rgba_unmultiplied(220, 70, 60, 70),
            changed: Color32::from_rgba_unmultiplied(230, 180, 40, 70),
        }
    } else {
        Palette {
            key: Color32::from_rgb(20, 70, 160),
            string: Color32::from_rgb(150, 80, 10),
            number: Color32::from_rgb(20, 120, 40),
            literal: Color32::from_rgb(130, 40, 160),
            muted: Color32::from_gray(110),
            error: Color32::from_rgb(190, 30, 30),
            warning: Color32::from_rgb(160, 100, 0),
            link: Color32::from_rgb(20, 90, 200),
            added: Color32::from_rgba_unmultiplied(60, 170, 80, 60),
            removed: Color32::from_rgba_unmultiplied(220, 70, 60, 60),
            changed: Color32::from_rgba_unmultiplied(230, 180, 40, 80),
        }
    }
}

/// Distinct colours for chart series (readable on dark and light backgrounds).
pub const SERIES: [Color32; 8] = [
    Color32::from_rgb(66, 133, 244),
    Color32::from_rgb(234, 67, 53),
    Color32::from_rgb(52, 168, 83),
    Color32::from_rgb(251, 140, 0),
    Color32::from_rgb(142, 36, 170),
    Color32::from_rgb(0, 172, 193),
    Color32::from_rgb(192, 202, 51),
    Color32::from_rgb(216, 27, 96),
];

/// Colours of structural differences (upcaster steps): added, removed, changed.
#[derive(Clone, Copy, Debug)]
pub struct DiffColours {
    /// Only in the newer value.
    pub added: Color32,
    /// Only in the older value.
    pub removed: Color32,
    /// In both, with different values.
    pub changed: Color32,
}

/// Difference colours for the current visuals.
#[must_use]
pub fn diff_colours(ui: &egui::Ui) -> DiffColours {
    if ui.visuals().dark_mode {
        DiffColours {
            added: Color32::from_rgb(110, 210, 120),
            removed: Color32::from_rgb(255, 120, 110),
            changed: Color32::from_rgb(240, 200, 90),
        }
    } else {
        DiffColours {
            added: Color32::from_rgb(20, 130, 40),
            removed: Color32::from_rgb(190, 30, 30),
            changed: Color32::from_rgb(170, 110, 0),
        }
    }
}
