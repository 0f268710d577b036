//! Public ids: 12 random base62 characters (≈71 bits). Internal integer keys never leave
//! the server; these are what URLs and the API show.

pub const PUBLIC_ID_LEN: usize = 12;
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether `text` has the shape of a public id (used before touching the database).
pub fn is_public_id(text: &str) -> bool {
    text.len() == PUBLIC_ID_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A fresh random public id (server only: the browser never mints ids).
#[cfg(feature = "ssr")]
pub fn new_public_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..PUBLIC_ID_LEN)
        .map(|_| char::from(BASE62[rng.gen_range(0..BASE62.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_twelve_alphanumerics_are_ids() {
        assert!(is_public_id("Ab3dEf6hIj9k"));
        assert!(!is_public_id("Ab3dEf6hIj9"));
        assert!(!is_public_id("Ab3dEf6hIj9k/"));
        assert!(!is_public_id("12345678901é"));
    }
}
