#!/bin/bash
# curl-only check of the disk-export path against vcsimx: login, power off, ExportVm,
# read the lease's device URLs, download each disk with curl, HttpNfcLeaseComplete.
# usage: nfc-bench.sh [BASE_URL] [VM inventory path]   e.g. https://127.0.0.1:8989 DC0/vm/DC0_H0_VM0
# env:   VC_USER / VC_PASS (default guts / guts-lab, what ../vcsim-lab.sh starts vcsimx with)
#        or simply: test/lab/vcsim-lab.sh bench
set -euo pipefail
B=${1:-https://127.0.0.1:8989}; VMPATH=${2:-DC0/vm/DC0_H0_VM0}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
soap() {  # soap BODY -> response on stdout
  curl -sk -b "$W/cj" -c "$W/cj" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "urn:vim25/6.5"' --data-binary @- "$B/sdk" <<XML
<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>$1</soapenv:Body></soapenv:Envelope>
XML
}
rv() { sed -n 's:.*<returnval[^>]*>\([^<]*\)</returnval>.*:\1:p'; }
soap "<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>${VC_USER:-guts}</userName><password>${VC_PASS:-guts-lab}</password></Login>" | grep -q '<returnval' || { echo "Login as ${VC_USER:-guts} failed" >&2; exit 1; }
VM=$(soap "<FindByInventoryPath xmlns=\"urn:vim25\"><_this type=\"SearchIndex\">SearchIndex</_this><inventoryPath>$VMPATH</inventoryPath></FindByInventoryPath>" | rv)
echo "vm $VMPATH = $VM"
soap "<PowerOffVM_Task xmlns=\"urn:vim25\"><_this type=\"VirtualMachine\">$VM</_this></PowerOffVM_Task>" >/dev/null; sleep 0.2
L=$(soap "<ExportVm xmlns=\"urn:vim25\"><_this type=\"VirtualMachine\">$VM</_this></ExportVm>" | rv)
[ -n "$L" ] || { echo "ExportVm failed" >&2; exit 1; }
INFO=$(soap "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>HttpNfcLease</type><pathSet>info</pathSet></propSet><objectSet><obj type=\"HttpNfcLease\">$L</obj></objectSet></specSet><options></options></RetrievePropertiesEx>")
echo "lease $L"
for u in $(grep -o '<url>[^<]*</url>' <<<"$INFO" | sed 's:</\?url>::g'); do
  curl -sk -b "$W/cj" -o "$W/out" -w "  GET ${u#*//*/}: %{http_code} %{size_download} B in %{time_total} s = %{speed_download} B/s\n" "${u/\/\/\*\///127.0.0.1/}"
  if [ "${u##*/}" != nvram ] && command -v qemu-img >/dev/null; then
    qemu-img convert -f vmdk -O raw "$W/out" "$W/raw" 2>/dev/null && echo "    streamOptimized ok (qemu-img), raw sha256 $(sha256sum <"$W/raw" | cut -c1-16)" || echo "    (not a vmdk qemu-img can read: raw format?) sha256 $(sha256sum <"$W/out" | cut -c1-16)"
  fi
done
soap "<HttpNfcLeaseComplete xmlns=\"urn:vim25\"><_this type=\"HttpNfcLease\">$L</_this></HttpNfcLeaseComplete>" >/dev/null
soap "<PowerOnVM_Task xmlns=\"urn:vim25\"><_this type=\"VirtualMachine\">$VM</_this></PowerOnVM_Task>" >/dev/null
echo "lease completed"
