// rope_forward: rotary position embedding in place, Hugging Face rotate-half convention. For i < HS/2,
// with inv_freq = theta^(-2i/HS) and angle = positions[n] * inv_freq:
//   x[i] = x1 * cos - x2 * sin,  x[i + HS/2] = x2 * cos + x1 * sin   (x1 = x[i], x2 = x[i + HS/2]).
// Reads and writes x (in place), reads positions.
@group(0) @binding(0) var<storage, read_write> x: array<f32>;       // (N, NH, HS)
@group(0) @binding(1) var<storage, read> positions: array<u32>;     // (N)
struct Params { N: u32, NH: u32, HS: u32, theta: f32 }
@group(0) @binding(2) var<uniform> p: Params;

// Dispatch: grid2(ceil(N * NH * HS/2 / 256)) workgroups of 256, one rotated pair per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = p.HS / 2u;
  let idx = gid.y * nwg.x * 256u + gid.x;
  if (idx >= p.N * p.NH * half) { return; }
  let i = idx % half;
  let row = idx / half; // n * NH + h
  let n = row / p.NH;
  let invFreq = pow(p.theta, -f32(2u * i) / f32(p.HS));
  let angle = f32(positions[n]) * invFreq;
  let c = cos(angle);
  let s = sin(angle);
  let base = row * p.HS;
  let x1 = x[base + i];
  let x2 = x[base + i + half];
  x[base + i] = x1 * c - x2 * s;
  x[base + i + half] = x2 * c + x1 * s;
}
