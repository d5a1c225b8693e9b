/*
 * The trace viewer page's script (trace_page.h). It reads the object `T`
 * that trace_page.c writes before it, and draws:
 *
 *   - a space-time diagram on a canvas: time runs down, one column per node
 *     and per client; messages are lines from the sender's column at the
 *     send time to the receiver's at the arrival time (red and ending in a
 *     cross when lost, with the reason in the details); crashes are grey
 *     bands over a node's column, partitions tint each node's column by
 *     the side it is on; beside each node a state strip (role colour; term,
 *     commit and applied written at each change); client operations are
 *     bars from call to answer, the ones a checker named in red, the
 *     longest linearizable prefix numbered in blue;
 *   - a side panel: the time window, filters (nodes, kinds, region), the
 *     details of what was clicked with every node's state at that moment,
 *     and the event list, virtualised so 100 000 rows scroll smoothly.
 *
 * Only what lies in the time window is visited when drawing (binary search
 * on the time-sorted arrays), so the cost of a frame follows what is on
 * the screen, not the trace's length.
 *
 * The page reports itself for CI: body[data-tv-status] becomes "ok" after
 * the first frame is drawn, or "error" with the message in #tv-error when
 * any script error happens (CI renders the page in headless Chromium and
 * looks for these).
 */
'use strict';

function tvFail(msg) {
  const el = document.getElementById('tv-error');
  el.hidden = false;
  el.textContent = 'trace viewer: JavaScript error: ' + msg;
  document.body.dataset.tvStatus = 'error';
}
window.addEventListener('error', (e) => tvFail(e.message + ' (line ' + e.lineno + ')'));

(function main() {
  const EV = 4, MSG = 10, ST = 10, CR = 3;
  const nEv = T.ev.length / EV, nMsg = T.msg.length / MSG, nSt = T.st.length / ST;
  const kindOf = (i) => T.kinds[T.ev[i * EV + 2]];

  // ---- columns: every endpoint that is a node or a client -------------------
  const cols = [];
  for (let ep = 1; ep <= T.maxEp; ep++) {
    const isClient = ep >= T.firstClient && ep < T.firstClient + T.clients;
    const isNode = ep <= T.nodes;
    if (!isNode && !isClient) continue;
    cols.push({ ep, client: isClient, name: isClient ? 'c' + (ep - T.firstClient) + ' (n' + ep + ')' : 'n' + ep, show: true });
  }
  const colOfEp = new Map();

  // ---- derived tables ------------------------------------------------------
  // States grouped by node and region, each list in time order.
  const regions = new Set();
  const stBy = new Map(); // "node/region" -> [state index]
  for (let i = 0; i < nSt; i++) {
    const node = T.st[i * ST + 2], region = T.st[i * ST + 3];
    regions.add(region);
    const k = node + '/' + region;
    if (!stBy.has(k)) stBy.set(k, []);
    stBy.get(k).push(i);
  }
  const regionList = [...regions].sort((a, b) => a - b);
  // Messages sorted by send time already (the trace is in time order); the
  // longest delay bounds how far before the window a visible one may start.
  let maxDelay = 0;
  for (let i = 0; i < nMsg; i++) maxDelay = Math.max(maxDelay, T.msg[i * MSG + 2] - T.msg[i * MSG + 1]);
  const crashesBy = new Map();
  for (let i = 0; i < T.crash.length; i += CR) {
    const n = T.crash[i];
    if (!crashesBy.has(n)) crashesBy.set(n, []);
    crashesBy.get(n).push([T.crash[i + 1], T.crash[i + 2] < 0 ? Infinity : T.crash[i + 2]]);
  }
  const ops = T.ops.map((o) => ({ id: o[0], client: o[1], ep: o[2], kind: o[3], key: o[4], value: o[5],
    call: o[6], ret: o[7] < 0 ? Infinity : o[7], status: o[8], result: o[9], bad: o[10], prefix: o[11] }));
  const opsByEp = new Map();
  for (const o of ops) {
    if (!opsByEp.has(o.ep)) opsByEp.set(o.ep, []);
    opsByEp.get(o.ep).push(o);
  }
  const tEnd = Math.max(T.tEnd, 1);

  // ---- the page's elements --------------------------------------------------
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const c of kids) e.append(c);
    return e;
  };
  const nDropped = (() => { let n = 0; for (let i = 0; i < nMsg; i++) n += T.msg[i * MSG + 6] !== 0; return n; })();
  const header = el('header', {}, el('h1', { text: T.title }));
  if (T.replay) header.append(el('span', {}, 'replay: ', el('code', { text: T.replay })));
  header.append(el('span', { class: 'stats', text: nEv + ' events, ' + nMsg + ' messages (' + nDropped + ' lost), ' +
    T.nodes + ' nodes, ' + T.clients + ' clients, ' + ops.length + ' operations, ' + tEnd + ' ms' +
    (T.droppedEarlier ? '; the first ' + T.droppedEarlier + ' events were not kept' : '') }));
  const verdict = el('div', { id: 'verdict' });
  for (const [text, ev] of T.checks) {
    verdict.append(el('div', { title: 'show in the diagram', onclick: () => showCheck(text, ev) }, el('b', { text: '\u2716 ' }), text));
  }
  // The most frequent kinds of line, numbers folded: a store answering
  // every request with the same error shows it here at once.
  const freq = new Map();
  for (let i = 0; i < nEv; i++) {
    const k = kindOf(i);
    if (k.startsWith('net-') || k === 'state' || k === 'op' || k === 'role' || k.startsWith('check')) continue;
    const key = k + '  ' + T.ev[i * EV + 3].replace(/[0-9]+/g, 'N');
    freq.set(key, (freq.get(key) || 0) + 1);
  }
  const top = [...freq.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6);
  const frequent = el('details', { id: 'frequent' }, el('summary', { text: 'most frequent events (numbers as N)' }));
  // Open when no checker explained the failure: this is the next best clue.
  if (!T.checks.length && top.length) frequent.open = true;
  for (const [line, n] of top) frequent.append(el('div', { text: n + ' \u00d7 ' + line }));
  const canvas = el('canvas', { id: 'cv' });
  const diagram = el('div', { id: 'diagram' }, canvas);
  const fromIn = el('input', { type: 'number', min: 0, step: 1 }), toIn = el('input', { type: 'number', min: 0, step: 1 });
  const regionSel = el('select', {});
  regionSel.append(el('option', { value: 'all', text: 'all regions (strip: lowest)' }));
  for (const r of regionList) regionSel.append(el('option', { value: String(r), text: 'region ' + r }));
  const nodeBoxes = el('div', { class: 'row' });
  for (const c of cols) {
    const box = el('input', { type: 'checkbox' });
    box.checked = true;
    box.addEventListener('change', () => { c.show = box.checked; refilter(); draw(); });
    nodeBoxes.append(el('label', {}, box, c.name));
  }
  const kindShow = new Map();
  const kindBoxes = el('div', { class: 'row' });
  for (const k of T.kinds) {
    kindShow.set(k, true);
    const box = el('input', { type: 'checkbox' });
    box.checked = true;
    box.addEventListener('change', () => { kindShow.set(k, box.checked); refilter(); draw(); });
    kindBoxes.append(el('label', {}, box, k));
  }
  const legend = el('div', { class: 'legend' });
  for (const [c, t] of [['#1f6feb', 'leader'], ['#bf8700', 'candidate'], ['#8c959f', 'follower'], ['#2da44e', 'op ok'],
    ['#e16f24', 'op pending'], ['#d0d7de', 'op failed'], ['#cf222e', 'named by the checker / lost message']]) {
    legend.append(el('span', {}, el('i', { style: 'background:' + c }), t));
  }
  const controls = el('div', { id: 'controls' },
    el('div', { class: 'row' }, 'window', fromIn, '..', toIn, 'ms',
      el('button', { onclick: () => zoom(0.5), text: '+' }), el('button', { onclick: () => zoom(2), text: '\u2212' }),
      el('button', { onclick: () => setWindow(0, tEnd), text: 'all' })),
    el('div', { class: 'row' }, 'region', regionSel),
    el('details', {}, el('summary', { text: 'nodes and clients' }), nodeBoxes),
    el('details', {}, el('summary', { text: 'kinds' }), kindBoxes),
    legend,
    el('div', { class: 'legend', text: 'wheel: scroll time; ctrl/alt+wheel: zoom; shift+drag: zoom to a window; click: details' }));
  const details = el('div', { id: 'details', text: 'Click an event, a message, a state or an operation.' });
  const list = el('div', { id: 'list' }), spacer = el('div', {});
  list.append(spacer);
  document.body.append(header, verdict, frequent, el('div', { id: 'main' }, diagram, el('aside', { id: 'side' }, controls, details, list)));

  // ---- the view --------------------------------------------------------------
  let t0 = 0, t1 = tEnd, selected = -1, selOp = null, selMsg = -1;
  const HEAD = 34, AXIS = 58;
  function setWindow(a, b) {
    if (!(b > a)) b = a + 1;
    t0 = Math.max(0, a);
    t1 = Math.max(t0 + 1, b);
    fromIn.value = Math.round(t0);
    toIn.value = Math.round(t1);
    draw();
  }
  function zoom(f, at) {
    const c = at === undefined ? (t0 + t1) / 2 : at;
    setWindow(c - (c - t0) * f, c + (t1 - c) * f);
  }
  fromIn.addEventListener('change', () => setWindow(+fromIn.value, t1));
  toIn.addEventListener('change', () => setWindow(t0, +toIn.value));
  regionSel.addEventListener('change', () => { refilter(); draw(); });

  function layout() {
    const shown = cols.filter((c) => c.show);
    const w = canvas.clientWidth, colW = Math.max(60, (w - AXIS) / Math.max(1, shown.length));
    colOfEp.clear();
    shown.forEach((c, i) => colOfEp.set(c.ep, AXIS + (i + 0.5) * colW));
    return { shown, colW, w, h: canvas.clientHeight };
  }
  const yOf = (t, L) => HEAD + (t - t0) * (L.h - HEAD) / (t1 - t0);
  const tOf = (y, L) => t0 + (y - HEAD) * (t1 - t0) / (L.h - HEAD);

  // First index in [0, n) whose time is >= t (times ascending).
  function lowerBound(n, timeAt, t) {
    let lo = 0, hi = n;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (timeAt(mid) < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  const evTime = (i) => T.ev[i * EV];
  const msgSent = (i) => T.msg[i * MSG + 1];

  function stripRegion() {
    const v = regionSel.value;
    return v === 'all' ? (regionList.length ? regionList[0] : 0) : +v;
  }
  // The state of `node` in the strip's region at time t (index or -1).
  function stateAt(node, region, t) {
    const l = stBy.get(node + '/' + region);
    if (!l) return -1;
    const k = lowerBound(l.length, (j) => T.st[l[j] * ST + 1], t + 0.5) - 1;
    if (k < 0) return -1;
    const s = l[k], down = crashesBy.get(node) || [];
    for (const [d, u] of down) if (d >= T.st[s * ST + 1] && d <= t && t < u) return -1;
    return s;
  }
  const roleColor = (r) => r === 'leader' ? '#1f6feb' : r.startsWith('cand') || r.startsWith('pre') ? '#bf8700' : '#8c959f';
  const stateText = (s) => 'T' + T.st[s * ST + 5] + (T.st[s * ST + 6] >= 0 ? ' c' + T.st[s * ST + 6] : '') + ' a' + T.st[s * ST + 7];

  // ---- drawing ------------------------------------------------------------------
  let L = null;
  function draw() {
    const dpr = window.devicePixelRatio || 1;
    L = layout();
    canvas.width = Math.max(1, L.w * dpr);
    canvas.height = Math.max(1, L.h * dpr);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, L.w, L.h);
    g.font = '10px system-ui, sans-serif';
    drawGrid(g);
    drawPartitions(g);
    drawCrashes(g);
    drawStrips(g);
    drawMessages(g);
    drawOps(g);
    drawEvents(g);
    drawStripLabels(g);
    drawHeads(g);
  }

  function niceStep(span, px) {
    const raw = span / Math.max(1, px / 60);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  function drawGrid(g) {
    const step = niceStep(t1 - t0, L.h - HEAD);
    g.fillStyle = '#57606a';
    g.strokeStyle = '#eaeef2';
    g.lineWidth = 1;
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const y = yOf(t, L);
      g.beginPath(); g.moveTo(AXIS, y); g.lineTo(L.w, y); g.stroke();
      g.fillText(t + ' ms', 4, y + 3);
    }
    g.strokeStyle = '#d0d7de';
    for (const c of L.shown) {
      const x = colOfEp.get(c.ep);
      g.beginPath(); g.moveTo(x, HEAD); g.lineTo(x, L.h); g.stroke();
    }
  }
  const groupColors = ['', 'rgba(130,80,223,0.13)', 'rgba(191,135,0,0.13)', 'rgba(26,127,55,0.13)', 'rgba(207,34,46,0.10)'];
  function drawPartitions(g) {
    for (const [a, b0, desc, groups] of T.part) {
      const b = b0 < 0 ? tEnd : b0;
      if (b < t0 || a > t1) continue;
      const ya = Math.max(HEAD, yOf(a, L)), yb = Math.min(L.h, yOf(b, L));
      for (const c of L.shown) {
        const grp = groups[c.ep] || 0;
        if (!grp) continue;
        g.fillStyle = groupColors[1 + ((grp - 1) % 4)];
        g.fillRect(colOfEp.get(c.ep) - L.colW / 2, ya, L.colW, yb - ya);
      }
      // The sides only ("n1 n4 | n2 n3 n5"), where the axis has room.
      const sides = desc.includes(': ') ? desc.slice(desc.indexOf(': ') + 2) : desc;
      g.fillStyle = '#8250df';
      if (yOf(a, L) >= HEAD) g.fillText('\u2702 ' + sides.slice(0, 24), AXIS + 2, yOf(a, L) - 2);
    }
  }
  function drawCrashes(g) {
    g.fillStyle = 'rgba(87,96,106,0.28)';
    for (const [node, list2] of crashesBy) {
      const x = colOfEp.get(node);
      if (x === undefined) continue;
      for (const [d, u0] of list2) {
        const u = u0 === Infinity ? tEnd : u0;
        if (u < t0 || d > t1) continue;
        const ya = Math.max(HEAD, yOf(d, L)), yb = Math.min(L.h, yOf(u, L));
        g.fillRect(x - L.colW / 2 + 2, ya, L.colW - 4, Math.max(2, yb - ya));
        if (yb - ya > 14) { g.fillStyle = '#24292f'; g.fillText('down', x - 12, ya + 12); g.fillStyle = 'rgba(87,96,106,0.28)'; }
      }
    }
  }
  // The strips are drawn under the messages; their labels go on top, on a
  // light background, so they stay readable in dense stretches.
  let stripLabels = [];
  function drawStripLabels(g) {
    for (const [text, x, y] of stripLabels) {
      const w = g.measureText(text).width;
      g.fillStyle = 'rgba(255,255,255,0.85)';
      g.fillRect(x - 1, y - 8, w + 2, 10);
      g.fillStyle = '#24292f';
      g.fillText(text, x, y);
    }
    stripLabels = [];
  }
  function drawStrips(g) {
    const region = stripRegion();
    for (const c of L.shown) {
      if (c.client) continue;
      const l = stBy.get(c.ep + '/' + region);
      if (!l) continue;
      const x = colOfEp.get(c.ep) - L.colW / 2 + 4;
      const down = crashesBy.get(c.ep) || [];
      let lastLabel = -1e9, lastRow = -1, lastRole = -1;
      const k0 = Math.max(0, lowerBound(l.length, (j) => T.st[l[j] * ST + 1], t0) - 1);
      for (let k = k0; k < l.length; k++) {
        const s = l[k], ts = T.st[s * ST + 1];
        if (ts > t1) break;
        let te = k + 1 < l.length ? T.st[l[k + 1] * ST + 1] : tEnd;
        for (const [d] of down) if (d >= ts && d < te) te = d;
        const ya = Math.max(HEAD, yOf(ts, L)), yb = Math.min(L.h, yOf(te, L));
        if (yb < HEAD) continue;
        // Many changes to one pixel row: draw the row once per role.
        const role = T.st[s * ST + 4], row = Math.floor(ya);
        if (row === lastRow && role === lastRole && yb - ya < 1) continue;
        lastRow = row; lastRole = role;
        g.fillStyle = roleColor(T.roles[role]);
        g.fillRect(x, ya, 7, Math.max(1, yb - ya));
        if (ya - lastLabel >= 11 && ya < L.h) {
          stripLabels.push([stateText(s), x + 9, ya + 9]);
          lastLabel = ya;
        }
      }
    }
  }
  // Zoomed out over a long run, one pixel holds many messages: past 20 000
  // in the window only every k-th delivered one is drawn (lost ones always
  // are), and the diagram says so.
  const MSG_BUDGET = 20000;
  function drawMessages(g) {
    const i0 = lowerBound(nMsg, msgSent, t0 - maxDelay), i1 = lowerBound(nMsg, msgSent, t1 + 1);
    const stride = Math.max(1, Math.ceil((i1 - i0) / MSG_BUDGET));
    const paths = { ok: new Path2D(), client: new Path2D(), lost: new Path2D() };
    const crosses = [];
    let drawn = 0;
    for (let i = i0; i < i1; i++) {
      const o = i * MSG, sent = T.msg[o + 1];
      const arrive = T.msg[o + 2], from = T.msg[o + 3], to = T.msg[o + 4], fate = T.msg[o + 6];
      if (arrive < t0 || (!fate && stride > 1 && i % stride)) continue;
      const xa = colOfEp.get(from), xb = colOfEp.get(to);
      if (xa === undefined || xb === undefined) continue;
      if (!kindShow.get(kindOf(T.msg[o]))) continue;
      const ya = yOf(sent, L);
      let xe = xb, ye = yOf(arrive, L);
      if (fate === 1) { xe = xa + (xb - xa) * 0.25; ye = ya + 4; }
      const p = fate ? paths.lost : (from >= T.firstClient || to >= T.firstClient) ? paths.client : paths.ok;
      p.moveTo(xa, ya); p.lineTo(xe, ye);
      if (fate) crosses.push([xe, ye]);
      drawn++;
    }
    if (stride > 1) {
      g.fillStyle = '#57606a';
      g.fillText('showing 1 in ' + stride + ' delivered messages: zoom in for all', AXIS + 4, L.h - 6);
    }
    const alpha = drawn > 20000 ? 0.25 : drawn > 3000 ? 0.5 : 0.85;
    g.lineWidth = 1;
    g.globalAlpha = alpha;
    g.strokeStyle = '#0969da'; g.stroke(paths.ok);
    // Client traffic crosses the whole diagram: fainter, so Raft's shows.
    g.globalAlpha = alpha * 0.45;
    g.strokeStyle = '#1a7f37'; g.stroke(paths.client);
    g.globalAlpha = Math.max(alpha, 0.6);
    // Dashes are dear to draw: only when there are few lost messages.
    g.strokeStyle = '#cf222e';
    if (crosses.length < 3000) g.setLineDash([3, 2]);
    g.stroke(paths.lost);
    g.setLineDash([]);
    if (crosses.length < 5000) {
      const x = new Path2D();
      for (const [cx, cy] of crosses) { x.moveTo(cx - 3, cy - 3); x.lineTo(cx + 3, cy + 3); x.moveTo(cx + 3, cy - 3); x.lineTo(cx - 3, cy + 3); }
      g.stroke(x);
    }
    g.globalAlpha = 1;
    if (selMsg >= 0) {
      const o = selMsg * MSG, xa = colOfEp.get(T.msg[o + 3]), xb = colOfEp.get(T.msg[o + 4]);
      if (xa !== undefined && xb !== undefined) {
        g.strokeStyle = '#fb8500'; g.lineWidth = 3;
        g.beginPath(); g.moveTo(xa, yOf(T.msg[o + 1], L)); g.lineTo(xb, yOf(T.msg[o + 2], L)); g.stroke();
        g.lineWidth = 1;
      }
    }
  }
  function opLabel(o) {
    let s = o.kind + ' ' + (o.key || '');
    if (o.value) s += ' ' + o.value;
    if (o.status === 1) s += o.kind === 'get' ? ' \u2192 ' + (o.result || '') : ' ok';
    else s += o.status === 2 ? ' failed' : ' pending';
    return s;
  }
  function drawOps(g) {
    for (const c of L.shown) {
      const l = opsByEp.get(c.ep);
      if (!l || !kindShow.get('op')) continue;
      const x = colOfEp.get(c.ep);
      let lastLabel = -1e9;
      for (const o of l) {
        const ret = o.ret === Infinity ? tEnd : o.ret;
        if (ret < t0 || o.call > t1) continue;
        const ya = Math.max(HEAD, yOf(o.call, L)), yb = Math.min(L.h, yOf(ret, L));
        g.fillStyle = o.bad ? '#cf222e' : o.status === 1 ? '#2da44e' : o.status === 2 ? '#d0d7de' : '#e16f24';
        g.fillRect(x - 5, ya, 10, Math.max(2, yb - ya));
        if (o.bad || o === selOp) {
          g.strokeStyle = o === selOp ? '#fb8500' : '#82071e'; g.lineWidth = 2;
          g.strokeRect(x - 7, ya - 1, 14, Math.max(4, yb - ya + 2)); g.lineWidth = 1;
        }
        if (o.prefix) { g.fillStyle = '#0550ae'; g.fillText(String(o.prefix), x - 9 - g.measureText(String(o.prefix)).width, ya + 9); }
        if ((ya - lastLabel >= 11 || o.bad) && ya < L.h) {
          g.fillStyle = o.bad ? '#82071e' : '#24292f';
          g.fillText(('#' + o.id + ' ' + opLabel(o)).slice(0, Math.max(4, Math.floor(L.colW / 6))), x + 8, ya + 9);
          lastLabel = ya;
        }
      }
    }
  }
  // Other events as small dots on their column, when there is room.
  const plainKind = (k) => !(k.startsWith('net-') || k === 'op' || k === 'state');
  function drawEvents(g) {
    const i0 = lowerBound(nEv, evTime, t0), i1 = lowerBound(nEv, evTime, t1 + 1);
    const dense = i1 - i0 > 50000;
    for (let i = i0; i < i1; i++) {
      const k = kindOf(i);
      if (!kindShow.get(k) || (dense && k !== 'crash' && k !== 'start')) continue;
      if (!plainKind(k) && i !== selected) continue;
      const node = T.ev[i * EV + 1], x = colOfEp.get(node);
      if (x === undefined && node !== 0) continue;
      const y = yOf(evTime(i), L);
      g.fillStyle = k === 'crash' ? '#24292f' : k.startsWith('check') ? '#cf222e' : '#6e7781';
      if (node === 0) { g.fillRect(AXIS - 6, y - 1, 5, 3); continue; }
      g.beginPath(); g.arc(x + L.colW * 0.25, y, 2, 0, 7); g.fill();
    }
    if (selected >= 0) {
      const node = T.ev[selected * EV + 1], x = node ? colOfEp.get(node) : AXIS;
      if (x !== undefined) {
        const y = yOf(evTime(selected), L);
        g.strokeStyle = '#fb8500'; g.lineWidth = 2;
        g.beginPath(); g.arc(x, y, 6, 0, 7); g.stroke(); g.lineWidth = 1;
      }
    }
  }
  function drawHeads(g) {
    g.fillStyle = '#f6f8fa';
    g.fillRect(0, 0, L.w, HEAD);
    g.fillStyle = '#24292f';
    g.font = 'bold 11px system-ui, sans-serif';
    for (const c of L.shown) {
      const x = colOfEp.get(c.ep), name = c.name;
      g.fillText(name, x - g.measureText(name).width / 2, 14);
    }
    g.font = '10px system-ui, sans-serif';
    g.fillStyle = '#57606a';
    g.fillText('virtual ms', 4, 14);
    g.fillText('region ' + stripRegion(), 4, 27);
  }

  // ---- interaction -----------------------------------------------------------
  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const t = tOf(e.offsetY, L);
    if (e.ctrlKey || e.altKey) zoom(e.deltaY > 0 ? 1.25 : 0.8, t);
    else { const d = (t1 - t0) * 0.1 * Math.sign(e.deltaY); setWindow(t0 + d, t1 + d); }
  }, { passive: false });
  let dragFrom = null;
  canvas.addEventListener('mousedown', (e) => { if (e.shiftKey) dragFrom = e.offsetY; });
  canvas.addEventListener('mouseup', (e) => {
    if (dragFrom !== null && Math.abs(e.offsetY - dragFrom) > 4) {
      const a = tOf(Math.min(dragFrom, e.offsetY), L), b = tOf(Math.max(dragFrom, e.offsetY), L);
      dragFrom = null;
      setWindow(a, b);
      return;
    }
    dragFrom = null;
    pick(e.offsetX, e.offsetY);
  });
  window.addEventListener('resize', () => draw());

  // What lies under the pointer: an operation, an event dot or a message.
  function pick(px, py) {
    if (py < HEAD) return;
    const t = tOf(py, L), tol = 6 * (t1 - t0) / (L.h - HEAD);
    let best = null, bestD = 7;
    for (const c of L.shown) {
      const x = colOfEp.get(c.ep);
      for (const o of opsByEp.get(c.ep) || []) {
        if (Math.abs(px - x) <= 7 && o.call - tol <= t && t <= Math.min(o.ret, tEnd) + tol) { best = { op: o }; bestD = 0; }
      }
    }
    if (!best) {
      const i0 = lowerBound(nEv, evTime, t - tol), i1 = lowerBound(nEv, evTime, t + tol + 1);
      for (let i = i0; i < i1 && i < i0 + 5000; i++) {
        const node = T.ev[i * EV + 1], k = kindOf(i);
        if (!kindShow.get(k) || !plainKind(k)) continue;
        const x = node ? colOfEp.get(node) + L.colW * 0.25 : AXIS - 4;
        if (Number.isNaN(x)) continue;
        const d = Math.hypot(px - x, py - yOf(evTime(i), L));
        if (d < bestD) { bestD = d; best = { ev: i }; }
      }
      const m0 = lowerBound(nMsg, msgSent, t - maxDelay - tol);
      for (let i = m0; i < nMsg && i < m0 + 50000; i++) {
        const o = i * MSG;
        if (T.msg[o + 1] > t + tol) break;
        const xa = colOfEp.get(T.msg[o + 3]), xb = colOfEp.get(T.msg[o + 4]);
        if (xa === undefined || xb === undefined || !kindShow.get(kindOf(T.msg[o]))) continue;
        const ya = yOf(T.msg[o + 1], L);
        let xe = xb, ye = yOf(T.msg[o + 2], L);
        if (T.msg[o + 6] === 1) { xe = xa + (xb - xa) * 0.25; ye = ya + 4; }
        const d = segDist(px, py, xa, ya, xe, ye);
        if (d < bestD) { bestD = d; best = { msg: i }; }
      }
    }
    if (!best) {
      const c = L.shown.find((cc) => Math.abs(colOfEp.get(cc.ep) - L.colW / 2 + 7 - px) < 8 && !cc.client);
      if (c) best = { state: c.ep, t };
    }
    if (best) select(best, t);
  }
  function segDist(px, py, ax, ay, bx, by) {
    const dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    let u = l2 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
    u = Math.max(0, Math.min(1, u));
    return Math.hypot(px - ax - u * dx, py - ay - u * dy);
  }
  const epName = (ep) => { const c = cols.find((cc) => cc.ep === ep); return c ? c.name : ep === 0 ? 'sim' : 'n' + ep; };
  // Message lines name their class when the trace named it.
  const withClass = (d) => d.replace(/class (\d+)/, (m, c) => T.classNames[+c] ? T.classNames[+c] : m);
  const evLine = (i) => evTime(i) + ' ms  ' + epName(T.ev[i * EV + 1]) + '  ' + kindOf(i) + '  ' + withClass(T.ev[i * EV + 3]);
  function statesAt(t) {
    const region = stripRegion();
    let s = '\nat ' + Math.round(t) + ' ms, region ' + region + ':\n';
    for (const c of cols) {
      if (c.client) continue;
      const k = stateAt(c.ep, region, t);
      s += '  ' + c.name + '  ' + (k < 0 ? '(down or no state yet)' : T.roles[T.st[k * ST + 4]] + ' term ' + T.st[k * ST + 5] +
        (T.st[k * ST + 6] >= 0 ? ' commit ' + T.st[k * ST + 6] : '') + ' applied ' + T.st[k * ST + 7] +
        (T.st[k * ST + 8] || T.st[k * ST + 9] ? ' epoch ' + T.st[k * ST + 8] + '/' + T.st[k * ST + 9] : '')) + '\n';
    }
    return s;
  }
  function select(what, t) {
    selected = -1; selOp = null; selMsg = -1;
    let text = '';
    if (what.op) {
      const o = what.op;
      selOp = o;
      text = 'operation #' + o.id + ' by client ' + o.client + ' (n' + o.ep + ')\n  ' + opLabel(o) +
        '\n  called at ' + o.call + ' ms, ' + (o.ret === Infinity ? 'never answered' : 'answered at ' + o.ret + ' ms') +
        (o.bad ? '\n  NAMED BY THE CHECKER (see the red box at the top)' : '') +
        (o.prefix ? '\n  place ' + o.prefix + ' in the longest linearizable prefix' : '');
      t = o.call;
    } else if (what.msg !== undefined) {
      const o = what.msg * MSG, fate = T.msg[o + 6];
      selMsg = what.msg;
      selected = T.msg[o];
      const cls = T.msg[o + 5], cname = T.classNames[cls];
      text = 'message ' + epName(T.msg[o + 3]) + ' \u2192 ' + epName(T.msg[o + 4]) + ', ' + (cname ? cname + ' (class ' + cls + ')' : 'class ' + cls) +
        (T.msg[o + 7] ? ' (duplicate)' : '') + '\n  sent at ' + T.msg[o + 1] + ' ms' +
        (fate === 1 ? ', dropped at once: ' : fate === 2 ? ', lost in flight at ' + T.msg[o + 2] + ' ms: ' : ', arrives at ' + T.msg[o + 2] + ' ms') +
        (T.msg[o + 9] >= 0 ? T.reasons[T.msg[o + 9]] : '') + '\n  ' + evLine(T.msg[o]);
      t = T.msg[o + 1];
    } else if (what.ev !== undefined) {
      selected = what.ev;
      text = evLine(what.ev);
      t = evTime(what.ev);
    } else if (what.state !== undefined) {
      text = 'state strip of ' + epName(what.state);
    }
    details.textContent = text + statesAt(t);
    if (selected >= 0) scrollListTo(selected);
    draw();
  }
  function showCheck(text, ev) {
    const named = ops.filter((o) => o.bad);
    if (named.length) {
      const a = Math.min(...named.map((o) => o.call)), b = Math.max(...named.map((o) => Math.min(o.ret, tEnd)));
      const pad = Math.max(20, (b - a) * 0.3);
      setWindow(a - pad, b + pad);
      select({ op: named[0] });
    } else select({ ev });
    details.textContent = text + '\n\n' + details.textContent;
  }

  // ---- the event list, virtualised: only rows on screen exist ---------------
  const ROW = 18;
  let rows = [];
  function regionOfEvent(i) {
    const m = /\bregion (\d+)/.exec(T.ev[i * EV + 3]);
    return m ? +m[1] : null;
  }
  function refilter() {
    const shownEp = new Set(cols.filter((c) => c.show).map((c) => c.ep));
    const rsel = regionSel.value;
    rows = [];
    for (let i = 0; i < nEv; i++) {
      const node = T.ev[i * EV + 1];
      if (!kindShow.get(kindOf(i)) || (node !== 0 && !shownEp.has(node))) continue;
      if (rsel !== 'all') { const r = regionOfEvent(i); if (r !== null && r !== +rsel) continue; }
      rows.push(i);
    }
    spacer.style.height = rows.length * ROW + 'px';
    renderRows();
  }
  const badEvents = new Set(T.checks.map((c) => c[1]));
  function renderRows() {
    for (const r of [...list.querySelectorAll('.row')]) r.remove();
    const a = Math.floor(list.scrollTop / ROW), b = Math.min(rows.length, a + Math.ceil(list.clientHeight / ROW) + 2);
    for (let k = a; k < b; k++) {
      const i = rows[k];
      const r = el('div', { class: 'row' + (i === selected ? ' sel' : '') + (badEvents.has(i) ? ' bad' : ''), text: evLine(i) });
      r.style.top = k * ROW + 'px';
      r.addEventListener('click', () => {
        const t = evTime(i), span = t1 - t0;
        if (t < t0 || t > t1) setWindow(t - span / 2, t + span / 2);
        select({ ev: i });
      });
      list.append(r);
    }
  }
  list.addEventListener('scroll', renderRows);
  function scrollListTo(i) {
    const k = lowerBound(rows.length, (j) => rows[j], i);
    if (k < rows.length && rows[k] === i && (k * ROW < list.scrollTop || k * ROW > list.scrollTop + list.clientHeight - ROW))
      list.scrollTop = k * ROW - list.clientHeight / 2;
    renderRows();
  }

  // ---- start: the window from the address (#t=FROM-TO), else everything ------
  refilter();
  const hash = /t=(\d+)-(\d+)/.exec(location.hash);
  if (hash) setWindow(+hash[1], +hash[2]); else setWindow(0, tEnd);
  if (/show=check/.test(location.hash) && T.checks.length) showCheck(T.checks[0][0], T.checks[0][1]);
  // For CI and for whoever measures: ms from navigation to the first frame,
  // and what one frame of the whole run costs.
  const f0 = performance.now();
  draw();
  document.body.dataset.tvFrameMs = Math.round(performance.now() - f0);
  document.body.dataset.tvLoadMs = Math.round(f0);
  if (document.body.dataset.tvStatus !== 'error') document.body.dataset.tvStatus = 'ok';
})();
