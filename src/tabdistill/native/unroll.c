/* The inner loop of tabdistill (inner.py) for the CPU: plain SGD steps of small fully
 * connected ReLU (or linear) nets and the exact reverse of those steps, the arithmetic of
 * inner.py's ``_backprop`` and ``_reverse_step`` (see that module's docstring for the formulas
 * and the names used here).
 *
 * Why C: each inner step is some hundred tiny matrix products (10 x 11 by 11 x 8) that XLA
 * runs one kernel at a time. Here nets run side by side, one per SIMD lane (4 or 8 of them,
 * whichever wastes fewer lanes): every operation of the step is the same for every net, so each
 * scalar operation of one net's step becomes one vector instruction over all of them.
 *
 * Two XLA FFI handlers (the typed FFI's C API; no C++ needed):
 *   tabdistill_run(flat, x, t, index, lrs) -> final        trains B nets through n steps
 *   tabdistill_reverse(flat, x, t, index, lrs, bar)
 *       -> (flat_bar, x_bar, t_bar, lr_bar)                the cotangents of the inputs
 * with one array attribute ``spec`` = [relu (1) or identity (0), steps per segment, number of
 * layers, widths...]. Shapes, any leading batch dims flattened into B: flat [B, np] (each
 * layer's [W.T | b] raveled in turn), x [B, s, P, d], t [B, s, K, P], index [B, n] int32,
 * lrs [B, n]; float32 or float64.
 *
 * The reverse pass keeps the parameters every ``segment`` steps, then, one segment at a time
 * from the last, trains through the segment again keeping each step's tape and steps back
 * through it: segment = n is inner.py's ``store`` mode, segment ~ sqrt(n) its ``checkpoint``.
 */
#ifndef LANES
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xla/ffi/api/c_api.h"

#define MAX_LAYERS 64

typedef struct {
  int relu, segment, layers;     /* activation, steps per segment, number of layers */
  int64_t width[MAX_LAYERS + 1]; /* width[0] = d features ... width[layers] = K outputs */
  int64_t B, np, s, P, n;        /* nets, parameters per net, batches, objects, steps */
} Problem;

/* The arithmetic below, once per precision and lane count (the file includes itself). */
#define DOUBLE 0
#define LANES 4
#define SUF(name) name##_f32_4
#include "unroll.c"
#define DOUBLE 0
#define LANES 8
#define SUF(name) name##_f32_8
#include "unroll.c"
#define DOUBLE 1
#define LANES 4
#define SUF(name) name##_f64_4
#include "unroll.c"
#define DOUBLE 1
#define LANES 8
#define SUF(name) name##_f64_8
#include "unroll.c"

/* ---- the FFI glue ------------------------------------------------------------------------ */

static XLA_FFI_Error* fail(const XLA_FFI_CallFrame* frame, const char* message) {
  XLA_FFI_Error_Create_Args args;
  memset(&args, 0, sizeof args);
  args.struct_size = XLA_FFI_Error_Create_Args_STRUCT_SIZE;
  args.message = message;
  args.errc = XLA_FFI_Error_Code_INVALID_ARGUMENT;
  return frame->api->XLA_FFI_Error_Create(&args);
}

/* Answers XLA's metadata query (the API version the handler was built against); returns 1
 * when the call was that query. */
static int metadata(XLA_FFI_CallFrame* frame) {
  XLA_FFI_Extension_Base* ext = frame->extension_start;
  if (ext == NULL || ext->type != XLA_FFI_Extension_Metadata) return 0;
  XLA_FFI_Metadata* m = ((XLA_FFI_Metadata_Extension*)ext)->metadata;
  m->api_version.struct_size = XLA_FFI_Api_Version_STRUCT_SIZE;
  m->api_version.extension_start = NULL;
  m->api_version.major_version = XLA_FFI_API_MAJOR;
  m->api_version.minor_version = XLA_FFI_API_MINOR;
  m->traits = 0;
  return 1;
}

static XLA_FFI_Buffer* arg(XLA_FFI_CallFrame* frame, int i) {
  return (XLA_FFI_Buffer*)frame->args.args[i];
}

static XLA_FFI_Buffer* ret(XLA_FFI_CallFrame* frame, int i) {
  return (XLA_FFI_Buffer*)frame->rets.rets[i];
}

/* Reads the shapes and the spec; returns an error message, or NULL. */
static const char* problem(XLA_FFI_CallFrame* frame, Problem* pr) {
  if (frame->attrs.size != 1 || frame->attrs.types[0] != XLA_FFI_AttrType_ARRAY)
    return "tabdistill inner loop: expected one array attribute, spec";
  XLA_FFI_Array* spec = (XLA_FFI_Array*)frame->attrs.attrs[0];
  if (spec->dtype != XLA_FFI_DataType_S64 || spec->size < 5)
    return "tabdistill inner loop: spec must be int64 [relu, segment, layers, widths...]";
  const int64_t* v = (const int64_t*)spec->data;
  pr->relu = (int)v[0];
  pr->segment = (int)v[1];
  pr->layers = (int)v[2];
  if (pr->layers < 1 || pr->layers > MAX_LAYERS || (int64_t)spec->size != 3 + pr->layers + 1)
    return "tabdistill inner loop: spec's widths do not match its number of layers";
  pr->np = 0;
  for (int i = 0; i <= pr->layers; i++) pr->width[i] = v[3 + i];
  for (int i = 0; i < pr->layers; i++) pr->np += pr->width[i + 1] * (pr->width[i] + 1);
  XLA_FFI_Buffer *flat = arg(frame, 0), *x = arg(frame, 1), *lrs = arg(frame, 4);
  if (flat->rank < 1 || x->rank < 3 || lrs->rank < 1)
    return "tabdistill inner loop: arrays of too low rank";
  pr->B = 1;
  for (int i = 0; i < flat->rank - 1; i++) pr->B *= flat->dims[i];
  if (flat->dims[flat->rank - 1] != pr->np)
    return "tabdistill inner loop: parameters do not match the spec's widths";
  pr->s = x->dims[x->rank - 3];
  pr->P = x->dims[x->rank - 2];
  if (x->dims[x->rank - 1] != pr->width[0])
    return "tabdistill inner loop: rows do not match the spec's input width";
  pr->n = lrs->dims[lrs->rank - 1];
  if (pr->segment < 1) pr->segment = pr->n > 0 ? (int)pr->n : 1;
  if (flat->dtype != XLA_FFI_DataType_F32 && flat->dtype != XLA_FFI_DataType_F64)
    return "tabdistill inner loop: expected float32 or float64";
  return NULL;
}

/* Both handlers: checks, then the instantiation for the dtype and the number of nets. */
static XLA_FFI_Error* handle(XLA_FFI_CallFrame* frame, int reverse) {
  if (metadata(frame) || frame->stage != XLA_FFI_ExecutionStage_EXECUTE) return NULL;
  Problem pr;
  const char* message = problem(frame, &pr);
  if (message) return fail(frame, message);
  void *in[6] = {NULL}, *out[4] = {NULL};
  for (int i = 0; i < frame->args.size && i < 6; i++) in[i] = arg(frame, i)->data;
  for (int i = 0; i < frame->rets.size && i < 4; i++) out[i] = ret(frame, i)->data;
  const int32_t* index = in[3];
  for (int64_t k = 0; k < pr.B * pr.n; k++)
    if (index[k] < 0 || index[k] >= pr.s)
      return fail(frame, "tabdistill inner loop: a step's batch index is out of range");
  int wide = pr.B > 4, f32 = arg(frame, 0)->dtype == XLA_FFI_DataType_F32;
  if (!reverse && f32)
    message = (wide ? run_f32_8 : run_f32_4)(&pr, in[0], in[1], in[2], index, in[4], out[0]);
  else if (!reverse)
    message = (wide ? run_f64_8 : run_f64_4)(&pr, in[0], in[1], in[2], index, in[4], out[0]);
  else if (f32)
    message = (wide ? reverse_f32_8 : reverse_f32_4)(&pr, in[0], in[1], in[2], index, in[4],
                                                     in[5], out[0], out[1], out[2], out[3]);
  else
    message = (wide ? reverse_f64_8 : reverse_f64_4)(&pr, in[0], in[1], in[2], index, in[4],
                                                     in[5], out[0], out[1], out[2], out[3]);
  return message ? fail(frame, message) : NULL;
}

XLA_FFI_Error* tabdistill_run(XLA_FFI_CallFrame* frame) { return handle(frame, 0); }

XLA_FFI_Error* tabdistill_reverse(XLA_FFI_CallFrame* frame) { return handle(frame, 1); }

#else /* ---- the arithmetic, once per precision and lane count ------------------------------ */

#if DOUBLE
#define REAL double
#define INT int64_t
#define EXP exp
#else
#define REAL float
#define INT int32_t
#define EXP expf
#endif

typedef REAL SUF(V) __attribute__((vector_size(LANES * sizeof(REAL))));
typedef INT SUF(Mask) __attribute__((vector_size(LANES * sizeof(REAL))));
#define V SUF(V)
#define Mask SUF(Mask)

/* where(mask, a, b), lane by lane (C has no ?: on vectors) */
static inline V SUF(where)(Mask m, V a, V b) { return (V)(((Mask)a & m) | ((Mask)b & ~m)); }

/* v times the activation's slope at the unit whose output is a: 1, or (a > 0) for ReLU */
static inline V SUF(gate)(int relu, V v, V a) { return relu ? SUF(where)(a > 0, v, (V){0}) : v; }

/* Where each array of a step's tape lies (in vectors), and the whole tape's size. */
typedef struct {
  int64_t act[MAX_LAYERS], delta[MAX_LAYERS], logits, size;
  int64_t layer[MAX_LAYERS]; /* offset of each layer's [W | b] in the parameters */
} SUF(Tape);
#define Tape SUF(Tape)

static Tape SUF(tape_layout)(const Problem* pr) {
  Tape tp;
  int64_t at = 0, offset = 0, P = pr->P, nl = pr->layers;
  for (int i = 0; i + 1 < nl; i++) tp.act[i] = at, at += pr->width[i + 1] * P; /* acts[i + 1] */
  for (int i = 0; i < nl; i++) tp.delta[i] = at, at += pr->width[i + 1] * P;
  tp.logits = at, at += pr->width[nl] * P;
  tp.size = at;
  for (int i = 0; i < nl; i++) tp.layer[i] = offset, offset += pr->width[i + 1] * (pr->width[i] + 1);
  return tp;
}

static inline V SUF(lanewise)(V a, REAL (*f)(REAL)) {
  V out;
  for (int l = 0; l < LANES; l++) out[l] = f(a[l]);
  return out;
}

static REAL SUF(sigmoid1)(REAL z) { return 1 / (1 + EXP(-z)); }
static REAL SUF(exp1)(REAL z) { return EXP(z); }

/* ---- the products, written so that the innermost loop runs over independent entries --------
 * (a reduction in the innermost loop would wait on its own previous multiply-add at each term).
 * A layer's parameters W are [n_out][n_in + 1], the bias last; per-object arrays [rows][P]. */

/* Each product runs over blocks of BLOCK independent entries held in registers, so that the
 * multiply-adds of a block overlap; a remainder shorter than BLOCK goes through memory. */
#ifndef BLOCK
#define BLOCK 8
#endif
#define UNROLL _Pragma("GCC unroll 8")

/* out[o] (+)= W[o][:n_in] @ in (+ the bias when `bias`) */
static void SUF(affine)(int64_t n_out, int64_t n_in, int64_t P, const V* restrict W,
                        const V* restrict in, V* restrict out, int bias, int add) {
  for (int64_t o = 0; o < n_out; o++) {
    const V* w = W + o * (n_in + 1);
    V* row = out + o * P;
    V start = bias ? w[n_in] : (V){0};
    int64_t q = 0;
    for (; q + BLOCK <= P; q += BLOCK) {
      V acc[BLOCK];
      UNROLL for (int r = 0; r < BLOCK; r++) acc[r] = add ? row[q + r] + start : start;
      for (int64_t j = 0; j < n_in; j++) {
        V c = w[j];
        UNROLL for (int r = 0; r < BLOCK; r++) acc[r] += c * in[j * P + q + r];
      }
      UNROLL for (int r = 0; r < BLOCK; r++) row[q + r] = acc[r];
    }
    for (; q < P; q++) {
      V acc = add ? row[q] + start : start;
      for (int64_t j = 0; j < n_in; j++) acc += w[j] * in[j * P + q];
      row[q] = acc;
    }
  }
}

/* out[j] (+)= scale * W[:, j] . left, for j < n_in (the weights transposed, no bias) */
static void SUF(transposed)(int64_t n_out, int64_t n_in, int64_t P, const V* restrict W,
                            const V* restrict left, V scale, V* restrict out, int add) {
  const int64_t cols = n_in + 1;
  for (int64_t j = 0; j < n_in; j++) {
    V* row = out + j * P;
    int64_t q = 0;
    for (; q + BLOCK <= P; q += BLOCK) {
      V acc[BLOCK];
      UNROLL for (int r = 0; r < BLOCK; r++) acc[r] = (V){0};
      for (int64_t o = 0; o < n_out; o++) {
        V c = W[o * cols + j];
        UNROLL for (int r = 0; r < BLOCK; r++) acc[r] += c * left[o * P + q + r];
      }
      UNROLL for (int r = 0; r < BLOCK; r++) row[q + r] = (add ? row[q + r] : (V){0}) + scale * acc[r];
    }
    for (; q < P; q++) {
      V acc = (V){0};
      for (int64_t o = 0; o < n_out; o++) acc += W[o * cols + j] * left[o * P + q];
      row[q] = (add ? row[q] : (V){0}) + scale * acc;
    }
  }
}

/* sum_q l[q] in[q] over four partial sums (short chains of dependent multiply-adds) */
static inline V SUF(dot)(int64_t P, const V* restrict l, const V* restrict in) {
  V a0 = (V){0}, a1 = (V){0}, a2 = (V){0}, a3 = (V){0};
  int64_t q = 0;
  for (; q + 4 <= P; q += 4) {
    a0 += l[q] * in[q], a1 += l[q + 1] * in[q + 1];
    a2 += l[q + 2] * in[q + 2], a3 += l[q + 3] * in[q + 3];
  }
  for (; q < P; q++) a0 += l[q] * in[q];
  return (a0 + a1) + (a2 + a3);
}

/* out[o][j] = base[o][j] + scale * sum_q left[o][q] in[j][q], for j < n_in, and likewise the
 * bias column with in = 1 when `bias` (out may be base) */
static void SUF(outer)(int64_t n_out, int64_t n_in, int64_t P, const V* restrict left,
                       const V* restrict in, const V* base, V scale, V* out, int bias) {
  for (int64_t o = 0; o < n_out; o++) {
    const int64_t row = o * (n_in + 1);
    const V* l = left + o * P;
    if (bias) {
      V acc = (V){0};
      for (int64_t q = 0; q < P; q++) acc += l[q];
      out[row + n_in] = base[row + n_in] + scale * acc;
    }
    int64_t j = 0;
    for (; j + BLOCK <= n_in; j += BLOCK) {
      V acc[BLOCK];
      UNROLL for (int r = 0; r < BLOCK; r++) acc[r] = (V){0};
      for (int64_t q = 0; q < P; q++) {
        V c = l[q];
        UNROLL for (int r = 0; r < BLOCK; r++) acc[r] += c * in[(j + r) * P + q];
      }
      UNROLL for (int r = 0; r < BLOCK; r++) out[row + j + r] = base[row + j + r] + scale * acc[r];
    }
    for (; j < n_in; j++) out[row + j] = base[row + j] + scale * SUF(dot)(P, l, in + j * P);
  }
}

/* Column p of softmax(logits) [K][P] into out; returns the sum of the column's targets. */
static V SUF(softmax)(int64_t K, int64_t P, int64_t p, const V* logits, const V* t, V* out) {
  V top = logits[p], total = (V){0}, sum_t = (V){0};
  for (int64_t k = 1; k < K; k++) top = SUF(where)(logits[k * P + p] > top, logits[k * P + p], top);
  for (int64_t k = 0; k < K; k++) {
    out[k * P + p] = SUF(lanewise)(logits[k * P + p] - top, SUF(exp1));
    total += out[k * P + p];
    sum_t += t[k * P + p];
  }
  for (int64_t k = 0; k < K; k++) out[k * P + p] /= total;
  return sum_t;
}

/* d loss / d logits for the mean cross-entropy over the P objects (inner.py's _head); targets
 * need not sum to 1 when labels are learned. */
static void SUF(head)(int64_t K, int64_t P, const V* logits, const V* t, V* delta) {
  for (int64_t p = 0; p < P; p++) {
    if (K == 1) {
      delta[p] = (SUF(lanewise)(logits[p], SUF(sigmoid1)) - t[p]) / (REAL)P;
      continue;
    }
    V sum_t = SUF(softmax)(K, P, p, logits, t, delta);
    for (int64_t k = 0; k < K; k++)
      delta[k * P + p] = (delta[k * P + p] * sum_t - t[k * P + p]) / (REAL)P;
  }
}

/* The VJP of head at g: the cotangents of the logits and of the targets. */
static void SUF(head_vjp)(int64_t K, int64_t P, const V* logits, const V* t, const V* g,
                          V* z_bar, V* t_bar) {
  for (int64_t p = 0; p < P; p++) {
    if (K == 1) {
      V sig = SUF(lanewise)(logits[p], SUF(sigmoid1));
      z_bar[p] = g[p] * sig * (1 - sig) / (REAL)P;
      t_bar[p] = -g[p] / (REAL)P;
      continue;
    }
    V sum_t = SUF(softmax)(K, P, p, logits, t, z_bar), g_sm = (V){0};
    for (int64_t k = 0; k < K; k++) g_sm += g[k * P + p] * z_bar[k * P + p];
    for (int64_t k = 0; k < K; k++) {
      t_bar[k * P + p] = (g_sm - g[k * P + p]) / (REAL)P;
      z_bar[k * P + p] = sum_t * z_bar[k * P + p] * (g[k * P + p] - g_sm) / (REAL)P;
    }
  }
}

/* Scratch of the reverse step: e_bar per hidden layer; u (then delta_bar), z_bar and a_bar,
 * each a widest layer's [width][P]; t_bar; lr_bar per object. */
typedef struct {
  V *e_bar, *u, *z_bar, *a_bar, *t_bar, *lr_bar;
  int64_t hidden[MAX_LAYERS]; /* offset of hidden layer i in e_bar */
} SUF(Work);
#define Work SUF(Work)

/* One SGD step p -> p_new = p - lr * grad on the batch (x [d][P], t [K][P]); fills the tape. */
static void SUF(step)(const Problem* pr, const Tape* tp, const V* p, V* p_new,
                      const V* x, const V* t, V lr, V* tape) {
  const int64_t P = pr->P, nl = pr->layers;
  const int64_t* w = pr->width;
  for (int i = 0; i < nl; i++) { /* forward */
    const V* in = i ? tape + tp->act[i - 1] : x;
    V* out = i == nl - 1 ? tape + tp->logits : tape + tp->act[i];
    SUF(affine)(w[i + 1], w[i], P, p + tp->layer[i], in, out, 1, 0);
    if (i < nl - 1 && pr->relu)
      for (int64_t k = 0; k < w[i + 1] * P; k++) out[k] = SUF(where)(out[k] > 0, out[k], (V){0});
  }
  SUF(head)(w[nl], P, tape + tp->logits, t, tape + tp->delta[nl - 1]);
  for (int i = nl - 1; i >= 0; i--) { /* backward, and the update */
    const V* in = i ? tape + tp->act[i - 1] : x;
    const V* delta = tape + tp->delta[i];
    const int64_t at = tp->layer[i];
    SUF(outer)(w[i + 1], w[i], P, delta, in, p + at, -lr, p_new + at, 1);
    if (i == 0) break;
    /* delta of layer i - 1: (W_i.T @ delta) times the slope at its output */
    V* e = tape + tp->delta[i - 1];
    const V* a = tape + tp->act[i - 1];
    SUF(transposed)(w[i + 1], w[i], P, p + at, delta, (V){0} + 1, e, 0);
    for (int64_t k = 0; k < w[i] * P; k++) e[k] = SUF(gate)(pr->relu, e[k], a[k]);
  }
}

/* The reverse of one step: bar (the cotangent of p_new) becomes that of p; x_bar [d][P] and
 * wk->t_bar receive this step's cotangents of its batch; returns lr's. With a piecewise
 * linear activation the slopes' own derivatives are zero: no curvature terms. */
static V SUF(reverse_step)(const Problem* pr, const Tape* tp, Work* wk, const V* p,
                           const V* x, const V* t, V lr, const V* tape, V* bar, V* x_bar) {
  const int64_t P = pr->P, nl = pr->layers;
  const int64_t* w = pr->width;
  for (int64_t q = 0; q < P; q++) wk->lr_bar[q] = (V){0};
  /* The backward pass in reverse, first layer to last. */
  for (int i = 0; i < nl; i++) {
    const V* in = i ? tape + tp->act[i - 1] : x;
    const V* delta = tape + tp->delta[i];
    const int64_t n = w[i + 1] * P;
    V* u = wk->u; /* u, then delta_bar in place */
    SUF(affine)(w[i + 1], w[i], P, bar + tp->layer[i], in, u, 1, 0);
    for (int64_t o = 0; o < w[i + 1]; o++)
      for (int64_t q = 0; q < P; q++) {
        wk->lr_bar[q] -= delta[o * P + q] * u[o * P + q];
        u[o * P + q] *= -lr;
      }
    if (i) SUF(affine)(w[i + 1], w[i], P, p + tp->layer[i], wk->e_bar + wk->hidden[i - 1], u, 0, 1);
    if (i < nl - 1) {
      const V* a = tape + tp->act[i];
      V* e_bar = wk->e_bar + wk->hidden[i];
      for (int64_t k = 0; k < n; k++) e_bar[k] = SUF(gate)(pr->relu, u[k], a[k]);
    }
  }
  V *z_bar = wk->z_bar, *a_bar = wk->a_bar;
  SUF(head_vjp)(w[nl], P, tape + tp->logits, t, wk->u, z_bar, wk->t_bar);
  /* The forward pass in reverse, last layer to first. */
  for (int i = nl - 1; i >= 0; i--) {
    const V* in = i ? tape + tp->act[i - 1] : x;
    const V* delta = tape + tp->delta[i];
    V* Wb = bar + tp->layer[i];
    if (i < nl - 1) {
      const V* a = tape + tp->act[i];
      for (int64_t k = 0; k < w[i + 1] * P; k++) z_bar[k] = SUF(gate)(pr->relu, a_bar[k], a[k]);
    }
    V* out = i ? a_bar : x_bar; /* the cotangent of this layer's input */
    SUF(transposed)(w[i + 1], w[i], P, p + tp->layer[i], z_bar, (V){0} + 1, out, 0);
    SUF(transposed)(w[i + 1], w[i], P, Wb, delta, -lr, out, 1);
    SUF(outer)(w[i + 1], w[i], P, z_bar, in, Wb, (V){0} + 1, Wb, 1);
    if (i) SUF(outer)(w[i + 1], w[i], P, delta, wk->e_bar + wk->hidden[i - 1], Wb, (V){0} + 1, Wb, 0);
  }
  V lr_bar = (V){0};
  for (int64_t q = 0; q < P; q++) lr_bar += wk->lr_bar[q];
  return lr_bar;
}

/* ---- nets in groups of LANES: gathering their inputs and scattering their outputs ------ */

typedef struct {
  int64_t b[LANES]; /* the net in each lane (the group's last net again in spare lanes) */
  int live;         /* lanes holding nets of their own */
} SUF(Group);
#define Group SUF(Group)

static Group SUF(group)(const Problem* pr, int64_t first) {
  Group g;
  g.live = (int)(pr->B - first < LANES ? pr->B - first : LANES);
  for (int l = 0; l < LANES; l++) g.b[l] = first + (l < g.live ? l : g.live - 1);
  return g;
}

static void SUF(load)(const Group* g, const REAL* src, int64_t size, V* dst) {
  for (int64_t k = 0; k < size; k++)
    for (int l = 0; l < LANES; l++) dst[k][l] = src[g->b[l] * size + k];
}

static void SUF(store)(const Group* g, const V* src, int64_t size, REAL* dst) {
  for (int l = 0; l < g->live; l++)
    for (int64_t k = 0; k < size; k++) dst[g->b[l] * size + k] = src[k][l];
}

/* Step k's batch of every lane: x transposed to [d][P], t [K][P], and lr. */
static V SUF(batch)(const Problem* pr, const Group* g, const REAL* x, const REAL* t,
                    const int32_t* index, const REAL* lrs, int64_t k, V* xv, V* tv) {
  const int64_t P = pr->P, d = pr->width[0], K = pr->width[pr->layers];
  V lr;
  for (int l = 0; l < LANES; l++) {
    int64_t b = g->b[l], i = index[b * pr->n + k];
    const REAL* xb = x + (b * pr->s + i) * P * d;
    const REAL* tb = t + (b * pr->s + i) * K * P;
    for (int64_t q = 0; q < P; q++)
      for (int64_t f = 0; f < d; f++) xv[f * P + q][l] = xb[q * d + f];
    for (int64_t k2 = 0; k2 < K * P; k2++) tv[k2][l] = tb[k2];
    lr[l] = lrs[b * pr->n + k];
  }
  return lr;
}

/* Room for `vectors` vectors, uninitialised. */
static void* SUF(alloc)(int64_t vectors) {
  return aligned_alloc(sizeof(V), (size_t)(vectors > 0 ? vectors : 1) * sizeof(V));
}

/* The step's and reverse step's scratch (one block; NULL when out of memory). */
static V* SUF(work)(const Problem* pr, Work* wk) {
  const int64_t P = pr->P, K = pr->width[pr->layers];
  int64_t hidden = 0, widest = K;
  for (int i = 0; i + 1 < pr->layers; i++) wk->hidden[i] = hidden, hidden += pr->width[i + 1] * P;
  for (int i = 0; i < pr->layers; i++) widest = pr->width[i] > widest ? pr->width[i] : widest;
  int64_t sizes[6] = {hidden, widest * P, widest * P, widest * P, K * P, P};
  V** slots[6] = {&wk->e_bar, &wk->u, &wk->z_bar, &wk->a_bar, &wk->t_bar, &wk->lr_bar};
  int64_t total = 0;
  for (int k = 0; k < 6; k++) total += sizes[k];
  V* block = SUF(alloc)(total);
  for (int k = 0, at = 0; block && k < 6; at += sizes[k], k++) *slots[k] = block + at;
  return block;
}

static const char* SUF(run)(const Problem* pr, const REAL* flat, const REAL* x, const REAL* t,
                            const int32_t* index, const REAL* lrs, REAL* out) {
  Tape tp = SUF(tape_layout)(pr);
  const int64_t P = pr->P, d = pr->width[0], K = pr->width[pr->layers];
  V *p = SUF(alloc)(pr->np), *p_new = SUF(alloc)(pr->np), *tape = SUF(alloc)(tp.size);
  V *xv = SUF(alloc)(d * P), *tv = SUF(alloc)(K * P);
  const char* message = NULL;
  if (!p || !p_new || !tape || !xv || !tv)
    message = "tabdistill inner loop: out of memory";
  for (int64_t first = 0; !message && first < pr->B; first += LANES) {
    Group g = SUF(group)(pr, first);
    SUF(load)(&g, flat, pr->np, p);
    for (int64_t k = 0; k < pr->n; k++) {
      V lr = SUF(batch)(pr, &g, x, t, index, lrs, k, xv, tv);
      SUF(step)(pr, &tp, p, p_new, xv, tv, lr, tape);
      V* swap = p;
      p = p_new, p_new = swap;
    }
    SUF(store)(&g, p, pr->np, out);
  }
  free(p), free(p_new), free(tape), free(xv), free(tv);
  return message;
}

static const char* SUF(reverse)(const Problem* pr, const REAL* flat, const REAL* x,
                                const REAL* t, const int32_t* index, const REAL* lrs,
                                const REAL* bar_in, REAL* flat_bar, REAL* x_out, REAL* t_out,
                                REAL* lr_out) {
  Tape tp = SUF(tape_layout)(pr);
  Work wk;
  const int64_t P = pr->P, d = pr->width[0], K = pr->width[pr->layers], np = pr->np;
  const int64_t seg = pr->segment, n_seg = (pr->n + seg - 1) / seg;
  /* starts: the parameters at each segment's start; params[m]: the input of the segment's
   * step m (one slot more, for the last step's output); tapes[m]: step m's tape. */
  V *starts = SUF(alloc)(n_seg * np), *params = SUF(alloc)((seg + 1) * np);
  V *tapes = SUF(alloc)(seg * tp.size), *bar = SUF(alloc)(np), *block = SUF(work)(pr, &wk);
  V *xv = SUF(alloc)(d * P), *tv = SUF(alloc)(K * P), *xb = SUF(alloc)(d * P);
  const char* message = NULL;
  if (!starts || !params || !tapes || !bar || !block || !xv || !tv || !xb)
    message = "tabdistill inner loop: out of memory (try --memory checkpoint)";
  if (!message) {
    memset(x_out, 0, sizeof(REAL) * pr->B * pr->s * P * d);
    memset(t_out, 0, sizeof(REAL) * pr->B * pr->s * K * P);
  }
  for (int64_t first = 0; !message && first < pr->B; first += LANES) {
    Group g = SUF(group)(pr, first);
    SUF(load)(&g, flat, np, starts);
    memcpy(params, starts, sizeof(V) * np);
    for (int64_t k = 0; k < (n_seg - 1) * seg; k++) {
      V *now = params + (k % 2) * np, *next = params + ((k + 1) % 2) * np;
      V lr = SUF(batch)(pr, &g, x, t, index, lrs, k, xv, tv);
      SUF(step)(pr, &tp, now, next, xv, tv, lr, tapes);
      if ((k + 1) % seg == 0) memcpy(starts + (k + 1) / seg * np, next, sizeof(V) * np);
    }
    SUF(load)(&g, bar_in, np, bar);
    for (int64_t j = n_seg - 1; j >= 0; j--) {
      int64_t begin = j * seg, end = begin + seg < pr->n ? begin + seg : pr->n;
      memcpy(params, starts + j * np, sizeof(V) * np);
      for (int64_t k = begin; k < end; k++) {
        V lr = SUF(batch)(pr, &g, x, t, index, lrs, k, xv, tv);
        V* p = params + (k - begin) * np;
        SUF(step)(pr, &tp, p, p + np, xv, tv, lr, tapes + (k - begin) * tp.size);
      }
      for (int64_t k = end - 1; k >= begin; k--) {
        V lr = SUF(batch)(pr, &g, x, t, index, lrs, k, xv, tv);
        V lr_bar = SUF(reverse_step)(pr, &tp, &wk, params + (k - begin) * np, xv, tv, lr,
                                     tapes + (k - begin) * tp.size, bar, xb);
        for (int l = 0; l < g.live; l++) {
          int64_t b = g.b[l], i = index[b * pr->n + k];
          REAL* xo = x_out + (b * pr->s + i) * P * d;
          REAL* to = t_out + (b * pr->s + i) * K * P;
          for (int64_t q = 0; q < P; q++)
            for (int64_t f = 0; f < d; f++) xo[q * d + f] += xb[f * P + q][l];
          for (int64_t k2 = 0; k2 < K * P; k2++) to[k2] += wk.t_bar[k2][l];
          lr_out[b * pr->n + k] = lr_bar[l];
        }
      }
    }
    SUF(store)(&g, bar, np, flat_bar);
  }
  free(starts), free(params), free(tapes), free(bar), free(block), free(xv), free(tv), free(xb);
  return message;
}

#undef V
#undef Mask
#undef Tape
#undef Work
#undef Group
#undef REAL
#undef INT
#undef EXP
#undef DOUBLE
#undef LANES
#undef SUF
#endif
