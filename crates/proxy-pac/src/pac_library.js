// The PAC helper functions written in JavaScript. Semantics follow the Netscape library as
// Chromium ships it (net/proxy_resolution/pac_js_library.h, the 2018 sync with Mozilla),
// re-written for this crate; the natives (__pac_*, dnsResolve, isPlainHostName, the Microsoft
// IPv6 functions, ...) are Rust (engine.rs). Evaluated once per context, before the PAC file.

// Date: the injected clock and UTC offset, not the process's. `__pac_set_clock(ms, offsetMs)`
// is kept by the engine and called before every FindProxyForURL call.
var __pac_set_clock = (function (global) {
  var RealDate = global.Date;
  var P = RealDate.prototype;
  var now = 0;
  var off = 0;
  var utcGet = {};
  var utcSet = {};
  var fields = ['FullYear', 'Month', 'Date', 'Day', 'Hours', 'Minutes', 'Seconds', 'Milliseconds'];
  fields.forEach(function (f) {
    utcGet[f] = P['getUTC' + f];
    if (f !== 'Day') utcSet[f] = P['setUTC' + f];
  });
  var getTime = P.getTime;
  var setTime = P.setTime;
  function local(d) { return new RealDate(getTime.call(d) + off); }
  fields.forEach(function (f) {
    var g = utcGet[f];
    Object.defineProperty(P, 'get' + f, {
      value: function () { return g.call(local(this)); }, writable: true, configurable: true
    });
    if (f === 'Day') return;
    var s = utcSet[f];
    Object.defineProperty(P, 'set' + f, {
      value: function () {
        var d = local(this);
        s.apply(d, arguments);
        return setTime.call(this, getTime.call(d) - off);
      }, writable: true, configurable: true
    });
  });
  Object.defineProperty(P, 'getYear', {
    value: function () { return this.getFullYear() - 1900; }, writable: true, configurable: true
  });
  Object.defineProperty(P, 'getTimezoneOffset', {
    value: function () { return isNaN(getTime.call(this)) ? NaN : -off / 60000; },
    writable: true, configurable: true
  });
  var dayNames = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  var monthNames = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function pad(n, w) { var s = String(n); while (s.length < w) s = '0' + s; return s; }
  function datePart(d) {
    var l = local(d);
    return dayNames[utcGet.Day.call(l)] + ' ' + monthNames[utcGet.Month.call(l)] + ' ' +
      pad(utcGet.Date.call(l), 2) + ' ' + pad(utcGet.FullYear.call(l), 4);
  }
  function timePart(d) {
    var l = local(d);
    var m = Math.abs(off / 60000);
    return pad(utcGet.Hours.call(l), 2) + ':' + pad(utcGet.Minutes.call(l), 2) + ':' +
      pad(utcGet.Seconds.call(l), 2) + ' GMT' + (off < 0 ? '-' : '+') +
      pad(Math.floor(m / 60), 2) + pad(m % 60, 2);
  }
  function method(name, f) {
    Object.defineProperty(P, name, {
      value: function () {
        return isNaN(getTime.call(this)) ? 'Invalid Date' : f(this);
      }, writable: true, configurable: true
    });
  }
  method('toString', function (d) { return datePart(d) + ' ' + timePart(d); });
  method('toDateString', datePart);
  method('toTimeString', timePart);
  method('toLocaleString', function (d) { return datePart(d) + ' ' + timePart(d); });
  method('toLocaleDateString', datePart);
  method('toLocaleTimeString', timePart);

  function PacDate(a0) {
    if (!new.target) return new PacDate().toString();
    var n = arguments.length;
    var t;
    if (n === 0) {
      t = now;
    } else if (n === 1) {
      t = (a0 instanceof RealDate) ? getTime.call(a0) : new RealDate(a0).getTime();
    } else {
      // Date.UTC maps years 0..99 to 1900..1999 like the local-time constructor.
      t = RealDate.UTC.apply(null, Array.prototype.slice.call(arguments, 0, 7)) - off;
    }
    return new RealDate(t);
  }
  PacDate.prototype = P;
  Object.defineProperty(P, 'constructor', { value: PacDate, writable: true, configurable: true });
  PacDate.now = function () { return now; };
  PacDate.UTC = RealDate.UTC;
  PacDate.parse = RealDate.parse;
  global.Date = PacDate;
  return function (ms, offsetMs) { now = ms; off = offsetMs; };
})(globalThis);

function dnsDomainIs(host, domain) {
  return __pac_dns_domain_is(host, domain);
}

function dnsDomainLevels(host) {
  return host.split('.').length - 1;
}

function convert_addr(ipchars) {
  var b = ipchars.split('.');
  return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
}

function isValidIpAddress(ipchars) {
  var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ipchars);
  if (m == null) return false;
  return !(m[1] > 255 || m[2] > 255 || m[3] > 255 || m[4] > 255);
}

function isInNet(ipaddr, pattern, maskstr) {
  // Strings whose answer needs no DNS: in Rust. The rest (a name, or non-string arguments).
  var fast = __pac_in_net(ipaddr, pattern, maskstr);
  if (fast !== undefined) return fast;
  if (!isValidIpAddress(pattern) || !isValidIpAddress(maskstr)) return false;
  if (!isValidIpAddress(ipaddr)) {
    ipaddr = dnsResolve(ipaddr);
    if (ipaddr == null) return false;
  }
  var mask = convert_addr(maskstr);
  return (convert_addr(ipaddr) & mask) == (convert_addr(pattern) & mask);
}

function isResolvable(host) {
  return dnsResolve(host) != null;
}

function isResolvableEx(host) {
  var ips = dnsResolveEx(host);
  return ips != null && ips !== '';
}

function localHostOrDomainIs(host, hostdom) {
  return host == hostdom || hostdom.lastIndexOf(host + '.', 0) == 0;
}

// Glob to RegExp as Netscape did: '.', '*' and '?' are translated, every other RegExp
// metacharacter stays live. Plain globs are matched in Rust; the rest compile once.
var __pac_regexps = new Map();
function shExpMatch(url, pattern) {
  var fast = __pac_glob(url, pattern);
  if (fast !== undefined) return fast;
  var re = __pac_regexps.get(pattern);
  if (re === undefined) {
    var p = pattern.replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp('^' + p + '$');
    if (__pac_regexps.size >= 512) __pac_regexps.clear();
    __pac_regexps.set(pattern, re);
  }
  return re.test(url);
}

var __pac_wdays = { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 };
var __pac_months = {
  JAN: 0, FEB: 1, MAR: 2, APR: 3, MAY: 4, JUN: 5, JUL: 6, AUG: 7, SEP: 8, OCT: 9, NOV: 10, DEC: 11
};

function weekdayRange() {
  function day(name) { return (name in __pac_wdays) ? __pac_wdays[name] : -1; }
  var now = new Date();
  var argc = arguments.length;
  if (argc < 1) return false;
  var wday;
  if (arguments[argc - 1] == 'GMT') {
    argc--;
    wday = now.getUTCDay();
  } else {
    wday = now.getDay();
  }
  var wd1 = day(arguments[0]);
  var wd2 = (argc == 2) ? day(arguments[1]) : wd1;
  if (wd1 == -1 || wd2 == -1) return false;
  if (wd1 <= wd2) return wd1 <= wday && wday <= wd2;
  return wd2 >= wday || wday >= wd1;
}

function dateRange() {
  function month(name) { return (name in __pac_months) ? __pac_months[name] : -1; }
  var now = new Date();
  var argc = arguments.length;
  if (argc < 1) return false;
  var isGMT = arguments[argc - 1] == 'GMT';
  if (isGMT) argc--;
  if (argc == 1) {
    var v = parseInt(arguments[0]);
    if (isNaN(v)) return (isGMT ? now.getUTCMonth() : now.getMonth()) == month(arguments[0]);
    if (v < 32) return (isGMT ? now.getUTCDate() : now.getDate()) == v;
    return (isGMT ? now.getUTCFullYear() : now.getFullYear()) == v;
  }
  var year = now.getFullYear();
  var start = new Date(year, 0, 1, 0, 0, 0);
  var end = new Date(year, 11, 31, 23, 59, 59);
  var adjustMonth = false;
  var i, v;
  for (i = 0; i < (argc >> 1); i++) {
    v = parseInt(arguments[i]);
    if (isNaN(v)) {
      start.setMonth(month(arguments[i]));
    } else if (v < 32) {
      adjustMonth = argc <= 2;
      start.setDate(v);
    } else {
      start.setFullYear(v);
    }
  }
  for (i = argc >> 1; i < argc; i++) {
    v = parseInt(arguments[i]);
    if (isNaN(v)) {
      end.setMonth(month(arguments[i]));
    } else if (v < 32) {
      end.setDate(v);
    } else {
      end.setFullYear(v);
    }
  }
  if (adjustMonth) {
    start.setMonth(now.getMonth());
    end.setMonth(now.getMonth());
  }
  if (isGMT) {
    var t = now;
    t.setFullYear(now.getUTCFullYear());
    t.setMonth(now.getUTCMonth());
    t.setDate(now.getUTCDate());
    t.setHours(now.getUTCHours());
    t.setMinutes(now.getUTCMinutes());
    t.setSeconds(now.getUTCSeconds());
    now = t;
  }
  return (start <= end) ? (start <= now && now <= end) : (end >= now || now >= start);
}

function timeRange() {
  var argc = arguments.length;
  var now = new Date();
  var isGMT = false;
  if (argc < 1) return false;
  if (arguments[argc - 1] == 'GMT') {
    isGMT = true;
    argc--;
  }
  var hour = isGMT ? now.getUTCHours() : now.getHours();
  var start = new Date();
  var end = new Date();
  if (argc == 1) return hour == arguments[0];
  if (argc == 2) return arguments[0] <= hour && hour <= arguments[1];
  if (argc == 6) {
    start.setSeconds(arguments[2]);
    end.setSeconds(arguments[5]);
  } else if (argc != 4) {
    throw 'timeRange: bad number of arguments';
  }
  var middle = argc >> 1;
  start.setHours(arguments[0]);
  start.setMinutes(arguments[1]);
  end.setHours(arguments[middle]);
  end.setMinutes(arguments[middle + 1]);
  if (middle == 2) end.setSeconds(59);
  if (isGMT) {
    now.setFullYear(now.getUTCFullYear());
    now.setMonth(now.getUTCMonth());
    now.setDate(now.getUTCDate());
    now.setHours(now.getUTCHours());
    now.setMinutes(now.getUTCMinutes());
    now.setSeconds(now.getUTCSeconds());
  }
  return (start <= end) ? (start <= now && now <= end) : (end >= now || now >= start);
}

// Adapters from the Rust natives' plain values to Chromium's failure values.
function dnsResolve(host) {
  var r = __pac_dns(host, false);
  return r === undefined ? null : r;
}

function dnsResolveEx(host) {
  var r = __pac_dns(host, true);
  return r === undefined ? '' : r;
}

function myIpAddress() {
  return __pac_my_ip(false);
}

function myIpAddressEx() {
  return __pac_my_ip(true);
}

function sortIpAddressList(list) {
  if (typeof list !== 'string') return null;
  var r = __pac_sort_ip(list);
  return r === undefined ? false : r;
}

function isInNetEx(ip, prefix) {
  if (typeof ip !== 'string' || typeof prefix !== 'string') return null;
  return __pac_in_net_ex(ip, prefix);
}

function getClientVersion() {
  return '1.0';
}

function alert(message) {
  __pac_alert(String(message));
}
