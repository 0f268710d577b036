//! Procedural pictures for demo assets: landscapes, plasma fields and glowing orbs in a
//! palette drawn from the seed. Deterministic: the same seed draws the same picture.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy)]
struct Rgb(f32, f32, f32);

fn hsl(h: f32, s: f32, l: f32) -> Rgb {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = (h.rem_euclid(360.0)) / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    Rgb(r + m, g + m, b + m)
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    Rgb(
        a.0 + (b.0 - a.0) * t,
        a.1 + (b.1 - a.1) * t,
        a.2 + (b.2 - a.2) * t,
    )
}

/// Samples a palette of colours as a smooth gradient, `t` in 0..=1.
fn gradient(palette: &[Rgb], t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0) * (palette.len() - 1) as f32;
    let i = (t.floor() as usize).min(palette.len() - 2);
    mix(palette[i], palette[i + 1], t - i as f32)
}

#[derive(Clone, Copy)]
enum Kind {
    Landscape,
    Plasma,
    Orbs,
}

/// Everything a picture is drawn from; `phase` (0..1) animates it for video frames.
pub struct Scene {
    kind: Kind,
    palette: Vec<Rgb>,
    freqs: [f32; 6],
    orbs: Vec<(f32, f32, f32, Rgb)>,
    ridges: Vec<(f32, f32, f32)>,
}

impl Scene {
    pub fn new(seed: u64) -> Scene {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let kind = match rng.gen_range(0..3) {
            0 => Kind::Landscape,
            1 => Kind::Plasma,
            _ => Kind::Orbs,
        };
        let base = rng.gen_range(0.0..360.0f32);
        let spread = rng.gen_range(25.0..80.0f32);
        let palette = (0..4)
            .map(|i| {
                let i = i as f32;
                hsl(
                    base + spread * i,
                    rng.gen_range(0.45..0.85),
                    0.12 + 0.2 * i + rng.gen_range(-0.05..0.05),
                )
            })
            .collect();
        let mut freqs = [0.0; 6];
        for f in &mut freqs {
            *f = rng.gen_range(1.5..7.0);
        }
        let orbs = (0..rng.gen_range(3..8))
            .map(|_| {
                (
                    rng.gen_range(0.1..0.9),
                    rng.gen_range(0.1..0.9),
                    rng.gen_range(0.05..0.25),
                    hsl(
                        base + rng.gen_range(90.0..270.0),
                        0.8,
                        rng.gen_range(0.55..0.75),
                    ),
                )
            })
            .collect();
        let ridges = (0..4)
            .map(|_| {
                (
                    rng.gen_range(2.0..9.0),
                    rng.gen_range(0.0..6.3),
                    rng.gen_range(0.02..0.08),
                )
            })
            .collect();
        Scene {
            kind,
            palette,
            freqs,
            orbs,
            ridges,
        }
    }

    /// Draws the scene as interleaved RGB bytes.
    pub fn render(&self, width: u32, height: u32, phase: f32) -> Vec<u8> {
        let mut out = Vec::with_capacity((width * height * 3) as usize);
        let t = phase * std::f32::consts::TAU;
        for py in 0..height {
            for px in 0..width {
                let x = px as f32 / width as f32;
                let y = py as f32 / height as f32;
                let c = match self.kind {
                    Kind::Landscape => self.landscape(x, y, t, width as f32 / height as f32),
                    Kind::Plasma => self.plasma(x, y, t),
                    Kind::Orbs => self.orbs(x, y, t, width as f32 / height as f32),
                };
                for channel in [c.0, c.1, c.2] {
                    out.push((channel.clamp(0.0, 1.0) * 255.0).round() as u8);
                }
            }
        }
        out
    }

    fn landscape(&self, x: f32, y: f32, t: f32, aspect: f32) -> Rgb {
        let p = &self.palette;
        let sky = mix(p[3], p[1], y * 1.4);
        let (sx, sy) = (0.3 + 0.4 * self.freqs[0] / 7.0 + 0.03 * t.sin(), 0.32);
        let d = (((x - sx) * aspect).powi(2) + (y - sy).powi(2)).sqrt();
        let mut colour = mix(sky, Rgb(1.0, 0.93, 0.8), (0.09 - d) * 40.0);
        colour = mix(colour, Rgb(1.0, 0.85, 0.6), (0.35 - d).max(0.0) * 0.6);
        for (i, (freq, offset, amp)) in self.ridges.iter().enumerate() {
            let depth = i as f32 / self.ridges.len() as f32;
            let base = 0.5 + depth * 0.12;
            let drift = t * 0.02 * (i + 1) as f32;
            let h = base
                - amp * (x * freq + offset + drift).sin()
                - amp * 0.5 * (x * freq * 2.7 + offset * 1.3).sin();
            if y > h {
                let shade = mix(p[2], p[0], depth + (y - h) * 0.8);
                colour = mix(colour, shade, 0.85 + depth * 0.15);
            }
        }
        colour
    }

    fn plasma(&self, x: f32, y: f32, t: f32) -> Rgb {
        let f = &self.freqs;
        let v = (x * f[0] + t).sin()
            + (y * f[1] - t).sin()
            + ((x + y) * f[2] + t * 0.5).sin()
            + (((x - 0.5).powi(2) + (y - 0.5).powi(2)).sqrt() * f[3] * 3.0 - t).sin()
            + (x * f[4] * (y * f[5] + t).sin()).sin() * 0.5;
        gradient(&self.palette, (v / 4.5 + 0.5).clamp(0.0, 1.0))
    }

    fn orbs(&self, x: f32, y: f32, t: f32, aspect: f32) -> Rgb {
        let mut colour = gradient(&self.palette[..3], y * 0.8 + 0.1 * (x * 3.0).sin());
        for (i, (ox, oy, r, tint)) in self.orbs.iter().enumerate() {
            let wobble = t + i as f32;
            let (cx, cy) = (ox + 0.03 * wobble.cos(), oy + 0.03 * wobble.sin());
            let d = (((x - cx) * aspect).powi(2) + (y - cy).powi(2)).sqrt();
            let glow = (1.0 - d / r).clamp(0.0, 1.0);
            colour = mix(colour, *tint, glow.powf(1.5) * 0.9);
        }
        colour
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_picture_other_seed_other_picture() {
        let a = Scene::new(7).render(32, 24, 0.0);
        assert_eq!(a.len(), 32 * 24 * 3);
        assert_eq!(a, Scene::new(7).render(32, 24, 0.0));
        assert_ne!(a, Scene::new(8).render(32, 24, 0.0));
    }
}
