// rope_forward: rotate-half RoPE in place on x (N, NH, HS). For i < HS/2, angle = positions[n] * invFreq[i]:
//   x[i] = x1 * cos - x2 * sin,  x[i + HS/2] = x2 * cos + x1 * sin   (x1 = x[i], x2 = x[i + HS/2])
// Reads positions, invFreq; read-writes x (each pair overwritten with its rotation, no accumulation).
@group(0) @binding(0) var<storage, read_write> x: array<f32>;      // (N, NH, HS)
@group(0) @binding(1) var<storage, read> positions: array<u32>;    // (N)
@group(0) @binding(2) var<storage, read> invFreq: array<f32>;      // (HS/2) theta^(-2i/HS), from the CPU
struct Params { N: u32, NH: u32, HS: u32 }
@group(0) @binding(3) var<uniform> p: Params;

// sin and cos of f32 angles to about 1 ulp. Angles reach thousands of radians and GPU sin/cos are only
// specified to 2^-11 absolute near zero (SwiftShader's are that coarse), so reduce by pi/2 in three parts
// (Cody-Waite) and evaluate single-precision minimax polynomials on [-pi/4, pi/4].
const PIO2_HI = 1.5703125;          // 8 significant bits: k * PIO2_HI is exact for k < 2^16
const PIO2_MID = 4.83826792e-4;
const PIO2_LO = 2.56328292e-12;
const TWO_OVER_PI = 0.636619747;

fn sinCos(a: f32) -> vec2<f32> {
  let k = round(a * TWO_OVER_PI);
  let r = fma(-k, PIO2_LO, fma(-k, PIO2_MID, fma(-k, PIO2_HI, a)));
  let z = r * r;
  let s = fma(fma(fma(-1.9515295891e-4, z, 8.3321608736e-3), z, -1.6666654611e-1), z * r, r);
  let c = fma(fma(fma(2.443315711809948e-5, z, -1.388731625493765e-3), z, 4.166664568298827e-2), z * z, fma(-0.5, z, 1.0));
  switch (i32(k) & 3) {
    case 0: { return vec2(s, c); }
    case 1: { return vec2(c, -s); }
    case 2: { return vec2(-s, -c); }
    default: { return vec2(-c, s); }
  }
}

// Dispatch: grid2(ceil(N * NH * HS/2 / 256)) workgroups of 256, one rotated pair per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = p.HS / 2u;
  let pair = gid.y * nwg.x * 256u + gid.x;
  if (pair >= p.N * p.NH * half) { return; }
  let i = pair % half;
  let head = pair / half; // n * NH + h
  let n = head / p.NH;
  let sc = sinCos(f32(positions[n]) * invFreq[i]);
  let at = head * p.HS + i;
  let x1 = x[at];
  let x2 = x[at + half];
  x[at] = x1 * sc.y - x2 * sc.x;
  x[at + half] = x2 * sc.y + x1 * sc.x;
}
