pub mod assertion;
pub mod sweep;
