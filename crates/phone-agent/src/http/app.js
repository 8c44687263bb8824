// The admin page: renders the agent's status (schema 1) and follows /api/events.
"use strict";

function text(v) { return v === null || v === undefined || v === "" ? "\u2013" : String(v); }

function fill(sectionId, rows) {
  const dl = document.querySelector("#" + sectionId + " dl");
  dl.replaceChildren();
  for (const [label, value, id, cls] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = text(value);
    if (id) dd.id = id;
    if (cls) dd.className = "state " + cls;
    dl.append(dt, dd);
  }
}

function render(s) {
  const a = s.agent;
  document.getElementById("agent").textContent =
    "phone-agent " + a.version + " \u00b7 pid " + a.pid + " \u00b7 " + a.config +
    " \u00b7 generation " + a.generation + (a.stopping ? " \u00b7 stopping" : "");
  fill("network", [
    ["Interface", s.network.iface, "network-iface"],
    ["Addresses", s.network.addresses.join(", "), "network-addresses"],
    ["Error", s.network.last_error, "network-error", s.network.last_error ? "error" : ""],
  ].concat(s.network.dhcp ? [
    ["DHCP lease", s.network.dhcp.address + "/" + text(s.network.dhcp.prefix_len) + " from " + s.network.dhcp.server +
      (s.network.dhcp.applied ? "" : " (handed off: " + text(s.network.dhcp.hand_off) + ")"), "network-dhcp"],
    ["Provisioning option", s.network.dhcp.provisioning_option ?
      s.network.dhcp.provisioning_option + ": " + s.network.dhcp.provisioning_source : null, "network-dhcp-option"],
  ] : []));
  const d = s.dot1x;
  fill("dot1x", [
    ["Transaction state", d.transaction_state, "dot1x-state", d.transaction_state],
    ["Protocol", d.protocol, "dot1x-protocol"],
    ["Authentications", d.authentications, "dot1x-authentications"],
    ["Declined methods", d.declined_methods.join("; "), "dot1x-declined"],
    ["Last error", d.last_error, "dot1x-error", d.last_error ? "error" : ""],
  ].concat(s.pc_port && s.pc_port.iface ? [
    ["PC port", s.pc_port.iface + " \u00b7 " + s.pc_port.state +
      (s.pc_port.link_up === null ? "" : s.pc_port.link_up ? " \u00b7 link up" : " \u00b7 link down"), "pc-port-state"],
    ["PCs", s.pc_port.pcs.join(", "), "pc-port-pcs"],
    ["EAPOL to network / to PC", s.pc_port.frames_to_network + " / " + s.pc_port.frames_to_pc, "pc-port-frames"],
    ["Proxy EAPOL-Logoffs", s.pc_port.proxy_logoffs +
      (s.pc_port.last_proxy_logoff ? " (last " + s.pc_port.last_proxy_logoff + ")" : ""), "pc-port-logoffs"],
    ["PC port error", s.pc_port.last_error, "pc-port-error", s.pc_port.last_error ? "error" : ""],
  ] : []));
  const body = document.querySelector("#lines tbody");
  body.replaceChildren();
  for (const l of s.lines) {
    const tr = document.createElement("tr");
    tr.id = "line-" + l.line;
    const cells = [
      ["Line", l.line, ""],
      ["State", l.state, "state " + l.state],
      ["User", l.user + "@" + l.registrar, ""],
      ["Transport", l.target || l.transport, ""],
      ["Mediasec", l.mediasec, ""],
      ["Last error", l.last_error, l.last_error ? "error" : ""],
    ];
    for (const [label, value, cls] of cells) {
      const td = document.createElement("td");
      td.dataset.label = label;
      td.textContent = text(value);
      if (cls) td.className = cls;
      if (label === "State") td.id = "line-" + l.line + "-state";
      tr.append(td);
    }
    body.append(tr);
  }
  fill("proxy", [
    ["Mode", s.proxy.mode, "proxy-mode"],
    ["Proxy", s.proxy.proxy, "proxy-proxy"],
    ["PAC source", s.proxy.pac_source, "proxy-pac"],
  ]);
  fill("firewall", [
    ["State", s.firewall.state, "firewall-state", s.firewall.state],
    ["Open ports", s.firewall.open_ports.join("; "), "firewall-ports"],
    ["Last error", s.firewall.last_error, "firewall-error", s.firewall.last_error ? "error" : ""],
  ]);
  const v = s.vpn;
  fill("vpn", [
    ["State", v.state, "vpn-state", v.state],
    ["Server", v.server, "vpn-server"],
    ["IP / mask", v.ip ? v.ip + " / " + text(v.mask) : null, "vpn-ip"],
    ["Device", v.device, "vpn-device"],
    ["Bytes sent / received", v.bytes_sent + " / " + v.bytes_received, "vpn-bytes"],
    ["Last error", v.last_error, "vpn-error", v.last_error ? "error" : ""],
  ]);
  const p = s.provisioning;
  fill("provisioning", [
    ["Last resync", p.last_resync_unix ? new Date(p.last_resync_unix * 1000).toISOString() : null, "prov-last"],
    ["Result", p.result, "prov-result", p.result === "Failed" || p.result === "Refused" ? "error" : ""],
    ["Detail", p.detail, "prov-detail"],
    ["Source", p.source, "prov-source"],
    ["Next resync", p.next_resync_unix ? new Date(p.next_resync_unix * 1000).toISOString() : null, "prov-next"],
    ["Last reason", p.last_reason, "prov-reason"],
  ].concat((p.rules || []).map((r) => [r.rule, r.status + (r.url ? " " + r.url : "") + ": " + r.detail, "prov-" + r.rule])));
  const r = s.config.last_reload;
  fill("config", [
    ["File", s.config.file, "config-file"],
    ["Last reload", r ? (r.accepted ? "accepted: " + (r.changed.join(", ") || "nothing changed") : "REFUSED, running configuration kept") : null,
      "config-reload", r && !r.accepted ? "error" : ""],
  ]);
  const ul = document.getElementById("diagnostics");
  ul.replaceChildren();
  for (const g of s.config.diagnostics) {
    const li = document.createElement("li");
    li.className = g.severity === "error" ? "error" : "";
    li.textContent = g.severity + (g.line ? " line " + g.line : "") + ": " + (g.parameter ? g.parameter + ": " : "") + g.message;
    ul.append(li);
  }
}

function follow() {
  const live = document.getElementById("live");
  const events = new EventSource("/api/events");
  events.addEventListener("status", (e) => render(JSON.parse(e.data)));
  events.onopen = () => { live.textContent = "live"; live.classList.add("on"); };
  events.onerror = () => { live.textContent = "offline"; live.classList.remove("on"); };
}

// The status at the time the page was served is inlined: the page is whole without waiting.
const initial = document.getElementById("initial");
if (initial) render(JSON.parse(initial.textContent));
window.addEventListener("load", () => setTimeout(follow, 0));
