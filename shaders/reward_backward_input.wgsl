// reward_backward_input: dhidden[m, c] += drewards[m] * score[c], the input gradient of the reward head
// rewards[m] = dot(hidden[m, :], score).
// Reads drewards, score; accumulates into dhidden (one invocation owns one element).
@group(0) @binding(0) var<storage, read_write> dhidden: array<f32>; // (M, C)
@group(0) @binding(1) var<storage, read> drewards: array<f32>;      // (M)
@group(0) @binding(2) var<storage, read> score: array<f32>;         // (C)
struct Params { M: u32, C: u32 }
@group(0) @binding(3) var<uniform> p: Params;

// Dispatch: grid2(ceil(M * C / 256)) workgroups of 256, one element of dhidden per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.M * p.C) { return; }
  let m = i / p.C;
  let c = i - m * p.C;
  dhidden[i] += drewards[m] * score[c];
}
