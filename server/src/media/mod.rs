//! The media pipeline: recognising uploads by their content (more to come: metadata,
//! thumbnails).

pub mod probe;

#[cfg(test)]
mod tests;
