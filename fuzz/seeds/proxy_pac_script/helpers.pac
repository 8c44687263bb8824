function FindProxyForURL(url, host) {
  if (isInNet(dnsResolve(host), '10.0.0.0', '255.0.0.0')) return 'DIRECT';
  if (shExpMatch(url, '*.example.*') && weekdayRange('MON','FRI') && dateRange('JAN','APR') && timeRange(8, 0, 17, 30)) return 'PROXY a:1';
  return sortIpAddressList(dnsResolveEx(host)) ? 'PROXY ' + myIpAddress() + ':3128' : 'SOCKS5 s';
}
