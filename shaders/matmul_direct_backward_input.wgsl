// matmul_direct_backward_input: dinp += dout @ weight, the input gradient of out = inp @ weight^T + bias, for C and
// OC multiples of 4. Each invocation owns RB rows x 4 adjacent columns of dinp (one owner per element) and reads
// both operands straight from storage with vec4 loads, with no workgroup staging and no barriers (see
// matmul_direct_forward). One source for every launch shape, fixed by module constants (specializedPipeline): a
// workgroup of WX x WY invocations covers (WY * RB) rows x (WX * 4) columns. The weight is frozen and may be f16
// (the wrapper makes the variant from the WT alias).
// Reads dout, weight; accumulates into dinp. Dispatch: (ceil(C / (4 * WX)), ceil(N / (WY * RB))) workgroups of WG.
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> dinp: array<vec4<f32>>; // (N, C/4)
@group(0) @binding(1) var<storage, read> dout: array<vec4<f32>>;       // (N, OC/4)
@group(0) @binding(2) var<storage, read> weight: array<vec4<WT>>;      // (OC, C/4)
struct Params { N: u32, C: u32, OC: u32 }
@group(0) @binding(3) var<uniform> p: Params;

const WX = 16u; // invocations across column quads
const WY = 16u; // invocations across rows
const RB = 4u;  // rows per invocation
const WG = 256u; // WX * WY

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // Invocation (tx, ty) owns rows ty + WY i and the 4 columns of quad tx: neighbours touch neighbouring quads.
  let tx = lid % WX;
  let ty = lid / WX;
  let C4 = p.C / 4u;
  let OC4 = p.OC / 4u;
  let quad = wid.x * WX + tx;
  let row0 = wid.y * WY * RB + ty;
  if (quad >= C4 || row0 >= p.N) { return; }
  // Out-of-range rows read row 0 (always present) and are not written.
  var rows: array<u32, RB>;
  for (var i = 0u; i < RB; i++) { rows[i] = select(0u, row0 + WY * i, row0 + WY * i < p.N) * OC4; }
  var acc: array<vec4<f32>, RB>;
  for (var k4 = 0u; k4 < OC4; k4++) {
    let k = k4 * 4u;
    let w0 = vec4<f32>(weight[k * C4 + quad]);
    let w1 = vec4<f32>(weight[(k + 1u) * C4 + quad]);
    let w2 = vec4<f32>(weight[(k + 2u) * C4 + quad]);
    let w3 = vec4<f32>(weight[(k + 3u) * C4 + quad]);
    for (var i = 0u; i < RB; i++) {
      let d = dout[rows[i] + k4];
      var s = acc[i];
      s = fma(vec4(d.x), w0, s);
      s = fma(vec4(d.y), w1, s);
      s = fma(vec4(d.z), w2, s);
      s = fma(vec4(d.w), w3, s);
      acc[i] = s;
    }
  }
  for (var i = 0u; i < RB; i++) {
    let n = row0 + WY * i;
    if (n < p.N) { dinp[n * C4 + quad] += acc[i]; }
  }
}
