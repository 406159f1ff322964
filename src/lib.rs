pub mod assertion;
pub mod compare;
pub mod sweep;
