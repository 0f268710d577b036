//! A tiny H.264 encoder and MP4 muxer for demo videos. Every frame is an IDR picture of
//! I_PCM macroblocks (raw samples, no prediction or transform), so the encoder is a few
//! bit-level writes; any H.264 decoder plays the result. Not for real footage: PCM is big.

/// A frame in YUV 4:2:0 (BT.601, limited range), planes tightly packed.
pub struct Yuv420 {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Yuv420 {
    /// Converts interleaved RGB (`width * height * 3` bytes); dimensions must be multiples of 16.
    pub fn from_rgb(width: usize, height: usize, rgb: &[u8]) -> Yuv420 {
        let mut y = vec![0u8; width * height];
        let (cw, ch) = (width / 2, height / 2);
        let mut u = vec![0u8; cw * ch];
        let mut v = vec![0u8; cw * ch];
        let px = |x: usize, yy: usize| {
            let i = (yy * width + x) * 3;
            (
                f32::from(rgb[i]),
                f32::from(rgb[i + 1]),
                f32::from(rgb[i + 2]),
            )
        };
        for yy in 0..height {
            for x in 0..width {
                let (r, g, b) = px(x, yy);
                y[yy * width + x] = (16.0 + 0.257 * r + 0.504 * g + 0.098 * b).round() as u8;
            }
        }
        for cy in 0..ch {
            for cx in 0..cw {
                let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (pr, pg, pb) = px(cx * 2 + dx, cy * 2 + dy);
                    r += pr / 4.0;
                    g += pg / 4.0;
                    b += pb / 4.0;
                }
                u[cy * cw + cx] = (128.0 - 0.148 * r - 0.291 * g + 0.439 * b).round() as u8;
                v[cy * cw + cx] = (128.0 + 0.439 * r - 0.368 * g - 0.071 * b).round() as u8;
            }
        }
        Yuv420 {
            width,
            height,
            y,
            u,
            v,
        }
    }
}

struct BitWriter {
    bytes: Vec<u8>,
    current: u8,
    filled: u8,
}

impl BitWriter {
    fn new() -> Self {
        BitWriter {
            bytes: Vec::new(),
            current: 0,
            filled: 0,
        }
    }

    fn bit(&mut self, on: bool) {
        self.current = (self.current << 1) | u8::from(on);
        self.filled += 1;
        if self.filled == 8 {
            self.bytes.push(self.current);
            self.current = 0;
            self.filled = 0;
        }
    }

    fn bits(&mut self, value: u32, count: u32) {
        for i in (0..count).rev() {
            self.bit((value >> i) & 1 == 1);
        }
    }

    /// Unsigned Exp-Golomb.
    fn ue(&mut self, value: u32) {
        let v = value + 1;
        let len = 32 - v.leading_zeros();
        self.bits(0, len - 1);
        self.bits(v, len);
    }

    /// Signed Exp-Golomb.
    fn se(&mut self, value: i32) {
        let mapped = if value > 0 {
            2 * value.unsigned_abs() - 1
        } else {
            2 * value.unsigned_abs()
        };
        self.ue(mapped);
    }

    fn align_with_zeros(&mut self) {
        while self.filled != 0 {
            self.bit(false);
        }
    }

    fn bytes(&mut self, data: &[u8]) {
        debug_assert_eq!(self.filled, 0);
        self.bytes.extend_from_slice(data);
    }

    /// `rbsp_trailing_bits()`.
    fn finish(mut self) -> Vec<u8> {
        self.bit(true);
        self.align_with_zeros();
        self.bytes
    }
}

/// A NAL unit: header byte, then the payload with emulation-prevention bytes inserted.
fn nal(ref_idc: u8, unit_type: u8, rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 64 + 1);
    out.push((ref_idc << 5) | unit_type);
    let mut zeros = 0;
    for &byte in rbsp {
        if zeros >= 2 && byte <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(byte);
        zeros = if byte == 0 { zeros + 1 } else { 0 };
    }
    out
}

const PROFILE_BASELINE: u8 = 66;
/// constraint_set0 and constraint_set1: Constrained Baseline.
const CONSTRAINTS: u8 = 0xC0;
const LEVEL: u8 = 30;

fn sps(width_mbs: u32, height_mbs: u32) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.bits(u32::from(PROFILE_BASELINE), 8);
    w.bits(u32::from(CONSTRAINTS), 8);
    w.bits(u32::from(LEVEL), 8);
    w.ue(0); // seq_parameter_set_id
    w.ue(0); // log2_max_frame_num_minus4
    w.ue(2); // pic_order_cnt_type: output order = decoding order
    w.ue(0); // max_num_ref_frames: every picture is IDR
    w.bit(false); // gaps_in_frame_num_value_allowed_flag
    w.ue(width_mbs - 1);
    w.ue(height_mbs - 1);
    w.bit(true); // frame_mbs_only_flag
    w.bit(true); // direct_8x8_inference_flag
    w.bit(false); // frame_cropping_flag
    w.bit(false); // vui_parameters_present_flag
    nal(3, 7, &w.finish())
}

fn pps() -> Vec<u8> {
    let mut w = BitWriter::new();
    w.ue(0); // pic_parameter_set_id
    w.ue(0); // seq_parameter_set_id
    w.bit(false); // entropy_coding_mode_flag: CAVLC
    w.bit(false); // bottom_field_pic_order_in_frame_present_flag
    w.ue(0); // num_slice_groups_minus1
    w.ue(0); // num_ref_idx_l0_default_active_minus1
    w.ue(0); // num_ref_idx_l1_default_active_minus1
    w.bit(false); // weighted_pred_flag
    w.bits(0, 2); // weighted_bipred_idc
    w.se(0); // pic_init_qp_minus26
    w.se(0); // pic_init_qs_minus26
    w.se(0); // chroma_qp_index_offset
    w.bit(false); // deblocking_filter_control_present_flag
    w.bit(false); // constrained_intra_pred_flag
    w.bit(false); // redundant_pic_cnt_present_flag
    nal(3, 8, &w.finish())
}

/// `mb_type` of I_PCM in an I slice.
const I_PCM: u32 = 25;

fn idr_slice(frame: &Yuv420, idr_pic_id: u32) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.ue(0); // first_mb_in_slice
    w.ue(7); // slice_type: I (all slices of the picture)
    w.ue(0); // pic_parameter_set_id
    w.bits(0, 4); // frame_num
    w.ue(idr_pic_id);
    w.bit(false); // no_output_of_prior_pics_flag
    w.bit(false); // long_term_reference_flag
    w.se(0); // slice_qp_delta
    let (mbs_x, mbs_y) = (frame.width / 16, frame.height / 16);
    let cw = frame.width / 2;
    for my in 0..mbs_y {
        for mx in 0..mbs_x {
            w.ue(I_PCM);
            w.align_with_zeros();
            for row in 0..16 {
                let start = (my * 16 + row) * frame.width + mx * 16;
                w.bytes(&frame.y[start..start + 16]);
            }
            for plane in [&frame.u, &frame.v] {
                for row in 0..8 {
                    let start = (my * 8 + row) * cw + mx * 8;
                    w.bytes(&plane[start..start + 8]);
                }
            }
        }
    }
    nal(3, 5, &w.finish())
}

fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32 + 8).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

fn full_box(kind: &[u8; 4], version: u8, flags: u32, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + 4);
    body.push(version);
    body.extend_from_slice(&flags.to_be_bytes()[1..]);
    body.extend_from_slice(payload);
    mp4_box(kind, &body)
}

struct Payload(Vec<u8>);

impl Payload {
    fn new() -> Self {
        Payload(Vec::new())
    }
    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn raw(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    fn matrix(self) -> Self {
        [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]
            .into_iter()
            .fold(self, Payload::u32)
    }
}

/// Encodes RGB frames (all `width`×`height`, multiples of 16) as an MP4 at `fps`.
/// The movie box comes first, so browsers can start playing before the whole file arrives.
pub fn encode_mp4(width: usize, height: usize, fps: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    assert!(
        width % 16 == 0 && height % 16 == 0,
        "dimensions must be multiples of 16"
    );
    let sps = sps((width / 16) as u32, (height / 16) as u32);
    let pps = pps();
    let samples: Vec<Vec<u8>> = frames
        .iter()
        .enumerate()
        .map(|(i, rgb)| {
            let slice = idr_slice(&Yuv420::from_rgb(width, height, rgb), (i % 2) as u32);
            let mut sample = (slice.len() as u32).to_be_bytes().to_vec();
            sample.extend_from_slice(&slice);
            sample
        })
        .collect();

    let timescale = 1000u32;
    let delta = timescale / fps.max(1);
    let duration = delta * samples.len() as u32;
    let ftyp = mp4_box(
        b"ftyp",
        &Payload::new()
            .raw(b"isom")
            .u32(0x200)
            .raw(b"isomiso2avc1mp41")
            .0,
    );
    let moov_with = |chunk_offset: u32| {
        let mvhd = full_box(
            b"mvhd",
            0,
            0,
            &Payload::new()
                .u32(0)
                .u32(0)
                .u32(timescale)
                .u32(duration)
                .u32(0x0001_0000)
                .u16(0x0100)
                .u16(0)
                .u32(0)
                .u32(0)
                .matrix()
                .raw(&[0; 24])
                .u32(2)
                .0,
        );
        let tkhd = full_box(
            b"tkhd",
            0,
            3,
            &Payload::new()
                .u32(0)
                .u32(0)
                .u32(1)
                .u32(0)
                .u32(duration)
                .u32(0)
                .u32(0)
                .u16(0)
                .u16(0)
                .u16(0)
                .u16(0)
                .matrix()
                .u32((width as u32) << 16)
                .u32((height as u32) << 16)
                .0,
        );
        let mdhd = full_box(
            b"mdhd",
            0,
            0,
            &Payload::new()
                .u32(0)
                .u32(0)
                .u32(timescale)
                .u32(duration)
                .u16(0x55C4)
                .u16(0)
                .0,
        );
        let hdlr = full_box(
            b"hdlr",
            0,
            0,
            &Payload::new()
                .u32(0)
                .raw(b"vide")
                .raw(&[0; 12])
                .raw(b"VideoHandler\0")
                .0,
        );
        let vmhd = full_box(b"vmhd", 0, 1, &[0; 8]);
        let dref = full_box(
            b"dref",
            0,
            0,
            &Payload::new().u32(1).raw(&full_box(b"url ", 0, 1, &[])).0,
        );
        let dinf = mp4_box(b"dinf", &dref);
        let avcc = mp4_box(
            b"avcC",
            &Payload::new()
                .raw(&[1, PROFILE_BASELINE, CONSTRAINTS, LEVEL, 0xFF, 0xE1])
                .u16(sps.len() as u16)
                .raw(&sps)
                .raw(&[1])
                .u16(pps.len() as u16)
                .raw(&pps)
                .0,
        );
        let avc1 = mp4_box(
            b"avc1",
            &Payload::new()
                .raw(&[0; 6])
                .u16(1)
                .raw(&[0; 16])
                .u16(width as u16)
                .u16(height as u16)
                .u32(0x0048_0000)
                .u32(0x0048_0000)
                .u32(0)
                .u16(1)
                .raw(&[0; 32])
                .u16(0x0018)
                .u16(0xFFFF)
                .raw(&avcc)
                .0,
        );
        let stsd = full_box(b"stsd", 0, 0, &Payload::new().u32(1).raw(&avc1).0);
        let n = samples.len() as u32;
        let stts = full_box(b"stts", 0, 0, &Payload::new().u32(1).u32(n).u32(delta).0);
        let stsc = full_box(b"stsc", 0, 0, &Payload::new().u32(1).u32(1).u32(n).u32(1).0);
        let stsz = full_box(
            b"stsz",
            0,
            0,
            &samples
                .iter()
                .fold(Payload::new().u32(0).u32(n), |p, s| p.u32(s.len() as u32))
                .0,
        );
        let stco = full_box(b"stco", 0, 0, &Payload::new().u32(1).u32(chunk_offset).0);
        let stbl = mp4_box(b"stbl", &[stsd, stts, stsc, stsz, stco].concat());
        let minf = mp4_box(b"minf", &[vmhd, dinf, stbl].concat());
        let mdia = mp4_box(b"mdia", &[mdhd, hdlr, minf].concat());
        let trak = mp4_box(b"trak", &[tkhd, mdia].concat());
        mp4_box(b"moov", &[mvhd, trak].concat())
    };
    // The moov box has the same size whatever the offset, so measure it once.
    let moov_len = moov_with(0).len();
    let data_offset = (ftyp.len() + moov_len + 8) as u32;
    let moov = moov_with(data_offset);
    let mdat = mp4_box(b"mdat", &samples.concat());
    [ftyp, moov, mdat].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_codes_match_the_standard() {
        let mut w = BitWriter::new();
        w.ue(0); // 1
        w.ue(1); // 010
        w.ue(2); // 011
        w.se(-1); // ue(2) = 011
        assert_eq!(w.finish(), vec![0b1010_0110, 0b1110_0000]);
    }

    #[test]
    fn emulation_prevention_breaks_start_code_patterns() {
        assert_eq!(
            nal(0, 1, &[0, 0, 1, 0, 0, 0]),
            vec![1, 0, 0, 3, 1, 0, 0, 3, 0]
        );
    }

    #[test]
    fn mp4_has_the_boxes_a_player_needs() {
        let frame = vec![128u8; 32 * 16 * 3];
        let mp4 = encode_mp4(32, 16, 8, &[frame.clone(), frame]);
        assert_eq!(&mp4[4..8], b"ftyp");
        let find = |kind: &[u8]| mp4.windows(4).position(|w| w == kind);
        let (moov, mdat) = (find(b"moov").expect("moov"), find(b"mdat").expect("mdat"));
        assert!(moov < mdat, "moov must precede mdat");
        assert!(find(b"avcC").is_some());
        // stco points at the first sample: a 4-byte length followed by an IDR NAL header.
        let stco = find(b"stco").expect("stco");
        let offset = u32::from_be_bytes(mp4[stco + 12..stco + 16].try_into().expect("4 bytes"));
        assert_eq!(offset as usize, mdat + 4);
        assert_eq!(mp4[offset as usize + 4], 0x65);
    }
}
