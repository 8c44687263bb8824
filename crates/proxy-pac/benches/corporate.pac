// A realistic enterprise PAC: plain hosts and internal domains direct, private networks
// direct, SaaS split tunnelling, a per-site proxy chosen by the phone's subnet, a proxy list
// with fallback, and office hours for the guest proxy.
var INTERNAL_DOMAINS = [".corp.example.com", ".lab.example.com", ".example.local"];
var DIRECT_SAAS = ["*.webex.com", "*.wbx2.com", "*.ciscospark.com", "*.office365.com",
                   "*.microsoftonline.com", "login.windows.net", "*.teams.microsoft.com"];
var BLOCKED = ["*.ads.example.net", "*tracker*", "*.doubleclick.net"];

function FindProxyForURL(url, host) {
    host = host.toLowerCase();
    if (isPlainHostName(host) || host == "127.0.0.1" || host == "localhost")
        return "DIRECT";
    for (var i = 0; i < INTERNAL_DOMAINS.length; i++) {
        if (dnsDomainIs(host, INTERNAL_DOMAINS[i]))
            return "DIRECT";
    }
    if (shExpMatch(host, "10.*") || shExpMatch(host, "192.168.*") ||
        shExpMatch(host, "172.1[6-9].*") || shExpMatch(host, "172.2?.*") ||
        shExpMatch(host, "172.3[0-1].*"))
        return "DIRECT";
    for (var j = 0; j < BLOCKED.length; j++) {
        if (shExpMatch(host, BLOCKED[j]))
            return "PROXY 127.0.0.1:9";
    }
    for (var k = 0; k < DIRECT_SAAS.length; k++) {
        if (shExpMatch(host, DIRECT_SAAS[k]))
            return "DIRECT";
    }
    if (url.substring(0, 4) == "ftp:")
        return "PROXY ftp-proxy.corp.example.com:2121";
    if (shExpMatch(url, "http://*/firmware/*") || shExpMatch(url, "*/cfg/*.xml"))
        return "PROXY prov-proxy.corp.example.com:3128; DIRECT";
    if (localHostOrDomainIs(host, "www.example.com"))
        return "PROXY www-proxy.corp.example.com:8080";
    var site = myIpAddress();
    if (isInNet(site, "10.20.0.0", "255.255.0.0"))
        return "PROXY proxy-emea1.corp.example.com:3128; PROXY proxy-emea2.corp.example.com:3128; DIRECT";
    if (isInNet(site, "10.30.0.0", "255.255.0.0"))
        return "PROXY proxy-apac1.corp.example.com:3128; DIRECT";
    if (weekdayRange("SAT", "SUN") || !timeRange(7, 19))
        return "PROXY guest-proxy.corp.example.com:3128; DIRECT";
    return "PROXY proxy1.corp.example.com:3128; PROXY proxy2.corp.example.com:3128; DIRECT";
}
