//! The media pipeline: recognising uploads by their content (more to come: metadata,
//! thumbnails).

pub mod meta;
pub mod probe;
pub mod thumbs;

#[cfg(test)]
mod tests;
