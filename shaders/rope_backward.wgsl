// rope_backward: the gradient of rope_forward, in place. The forward rotates each pair (x[i], x[i + HS/2])
// by angle = positions[n] * invFreq[i]; its transpose rotates dx by the negative angle:
//   dx[i] = d1 * cos + d2 * sin,  dx[i + HS/2] = d2 * cos - d1 * sin   (d1 = dx[i], d2 = dx[i + HS/2])
// Same inv_freq table and sin/cos as rope_forward.wgsl, so the two rotations are exact transposes.
// Reads positions, invFreq; read-writes dx (each pair overwritten, no accumulation).
@group(0) @binding(0) var<storage, read_write> dx: array<f32>;   // (N, NH, HS)
@group(0) @binding(1) var<storage, read> positions: array<u32>; // (N)
@group(0) @binding(2) var<storage, read> invFreq: array<f32>;   // (HS/2) theta^(-2i/HS), from the CPU
struct Params { N: u32, NH: u32, HS: u32 }
@group(0) @binding(3) var<uniform> p: Params;

// sin and cos to about 1 ulp for angles of thousands of radians, as in rope_forward.wgsl (keep in step):
// Cody-Waite reduction by pi/2 in three parts, minimax polynomials on [-pi/4, pi/4].
const PIO2_HI = 1.5703125;
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
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let halfHS = p.HS / 2u;
  let pair = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (pair >= p.N * p.NH * halfHS) { return; }
  let i = pair % halfHS;
  let head = pair / halfHS; // n * NH + h
  let n = head / p.NH;
  let sc = sinCos(f32(positions[n]) * invFreq[i]);
  let at = head * p.HS + i;
  let d1 = dx[at];
  let d2 = dx[at + halfHS];
  dx[at] = d1 * sc.y + d2 * sc.x;
  dx[at + halfHS] = d2 * sc.y - d1 * sc.x;
}
