pub mod assertion;
pub mod compare;
pub mod plot;
pub mod sweep;
