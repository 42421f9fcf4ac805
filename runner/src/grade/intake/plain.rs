//! One folder per student, named after the student.

use crate::grade::class::{self, Student};
use std::path::Path;

pub fn students(root: &Path, skip: Option<&Path>) -> Result<Vec<Student>, String> {
    class::students(root, skip).map_err(|e| e.to_string())
}
