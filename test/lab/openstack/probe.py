#!/usr/bin/python3
"""probe.py - checks the lab behaviours the guts OpenStack driver relies on.

  OS_CLIENT_CONFIG_FILE=STATE/clouds.yaml /usr/bin/python3 probe.py

API versions; volume types; a port with a requested MAC and fixed IP on lab-net
(as admin, and what the non-admin demo user may do); a server booted from that
port; boot from an existing volume; timings.  Deletes what it creates.
Exit 1 when a check that the driver needs fails.
"""
import sys
import time
import uuid

import openstack

RUN = uuid.uuid4().hex[:6]
created = []   # (kind, conn, id), deleted in reverse order
failed = []


def say(msg):
    print(msg, flush=True)


def check(ok, msg):
    say(('ok    ' if ok else 'FAIL  ') + msg)
    if not ok:
        failed.append(msg)


def wait(what, fn, timeout=300, interval=0.5):
    t0 = time.time()
    while True:
        v = fn()
        if v:
            return time.time() - t0, v
        if time.time() - t0 > timeout:
            raise SystemExit('timed out waiting for ' + what)
        time.sleep(interval)


def server_status(c, sid, want):
    def f():
        s = c.compute.get_server(sid)
        if s.status == 'ERROR':
            raise SystemExit('server %s ERROR: %s' % (sid, s.fault))
        return s if s.status == want else None
    return f


def volume_status(c, vid, want):
    def f():
        v = c.block_storage.get_volume(vid)
        if v.status.startswith('error'):
            raise SystemExit('volume %s %s' % (vid, v.status))
        return v if v.status == want else None
    return f


def versions(c):
    sess = c.session
    for name in ('compute', 'volume', 'image', 'identity', 'placement'):
        base = c.endpoint_for(name if name != 'volume' else 'volumev3')
        root = base.split('/v')[0] + '/'
        r = sess.get(root, authenticated=False, raise_exc=False)
        data = r.json()
        vs = data.get('versions', data)
        if isinstance(vs, dict):
            vs = vs.get('values', [vs])
        cur = [v for v in vs if v.get('status', '').upper() in ('CURRENT', 'STABLE')]
        say('api   %-9s %s' % (name, ', '.join(
            '%s (min %s, max %s)' % (v.get('id'), v.get('min_version') or '-',
                                     v.get('version') or v.get('max_version') or '-')
            for v in cur)))


def main():
    admin = openstack.connect(cloud='lab-admin')
    demo = openstack.connect(cloud='lab-demo')
    versions(admin)

    types = list(admin.block_storage.types())
    say('info  volume types: %s' % ', '.join(t.name for t in types))
    r = admin.block_storage.get('/types/default',
                                microversion='3.62', raise_exc=False)
    if r.ok:
        say('info  default volume type (3.62): %s' % r.json()['volume_type']['name'])

    net = admin.network.find_network('lab-net')
    sub = next(admin.network.subnets(network_id=net.id))
    flavor = admin.compute.find_flavor('m1.tiny')
    image = admin.image.find_image('lab-tiny')
    say('info  lab-net %s shared=%s subnet %s %s dhcp=%s' % (
        net.id, net.is_shared, sub.name, sub.cidr, sub.is_dhcp_enabled))

    # -- port with a requested MAC and IP (admin)
    mac = 'fa:16:3e:%02x:%02x:%02x' % tuple(uuid.uuid4().bytes[:3])
    ip = '198.51.100.%d' % (200 + int(RUN, 16) % 50)
    port = admin.network.create_port(
        name='probe-port-' + RUN, network_id=net.id, mac_address=mac,
        fixed_ips=[{'subnet_id': sub.id, 'ip_address': ip}])
    created.append(('port', admin, port.id))
    check(port.mac_address == mac, 'admin port keeps requested mac %s (got %s)'
          % (mac, port.mac_address))
    check(port.fixed_ips[0]['ip_address'] == ip,
          'admin port keeps requested fixed ip %s (got %s)'
          % (ip, port.fixed_ips[0]['ip_address']))

    # -- demo (non-admin) on the shared network
    for what, kw in (('plain port', {}),
                     ('port with mac_address', {'mac_address': 'fa:16:3e:aa:bb:%02x' % (int(RUN, 16) % 256)}),
                     ('port with fixed_ips ip_address', {'fixed_ips': [{'subnet_id': sub.id, 'ip_address': '198.51.100.%d' % (150 + int(RUN, 16) % 40)}]}),
                     ('port with fixed_ips subnet only', {'fixed_ips': [{'subnet_id': sub.id}]})):
        try:
            p = demo.network.create_port(name='probe-demo-' + RUN, network_id=net.id, **kw)
            created.append(('port', demo, p.id))
            say('info  demo user, shared lab-net: %s -> allowed (%s %s)' % (
                what, p.mac_address, p.fixed_ips[0]['ip_address']))
        except openstack.exceptions.HttpException as ex:
            say('info  demo user, shared lab-net: %s -> DENIED (HTTP %s)' % (what, ex.status_code))

    # -- demo on a network it owns: MAC and IP may be chosen there
    dnet = demo.network.create_network(name='probe-demo-net-' + RUN)
    created.append(('network', demo, dnet.id))
    dsub = demo.network.create_subnet(network_id=dnet.id, ip_version=4, cidr='192.0.2.0/24',
                                      enable_dhcp=False)
    dmac = 'fa:16:3e:%02x:%02x:%02x' % tuple(uuid.uuid4().bytes[:3])
    try:
        p = demo.network.create_port(network_id=dnet.id, mac_address=dmac,
                                     fixed_ips=[{'subnet_id': dsub.id, 'ip_address': '192.0.2.77'}])
        created.append(('port', demo, p.id))
        check(p.mac_address == dmac and p.fixed_ips[0]['ip_address'] == '192.0.2.77',
              'demo port on its own network keeps mac %s and ip 192.0.2.77' % dmac)
    except openstack.exceptions.HttpException as ex:
        check(False, 'demo port with mac/ip on its own network: HTTP %s' % ex.status_code)

    # -- qcow2 image -> volume (cinder converts with qemu-img)
    import os, subprocess, tempfile
    with tempfile.TemporaryDirectory() as td:
        q = os.path.join(td, 'probe.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', q, '64M'], check=True)
        with open(q, 'rb') as f:
            qimg = admin.image.create_image(name='probe-qcow2-' + RUN, disk_format='qcow2',
                                            container_format='bare', data=f,
                                            validate_checksum=False)
    created.append(('image', admin, qimg.id))
    t0 = time.time()
    qv = admin.block_storage.create_volume(name='probe-qcow2-' + RUN, size=1, image_id=qimg.id)
    created.append(('volume', admin, qv.id))
    wait('qcow2 volume available', volume_status(admin, qv.id, 'available'))
    check(True, 'volume from a qcow2 image (converted to raw) available in %.1f s' % (time.time() - t0))

    # -- server from that port
    t0 = time.time()
    srv = admin.compute.create_server(name='probe-port-vm-' + RUN, image_id=image.id,
                                      flavor_id=flavor.id, networks=[{'port': port.id}])
    created.append(('server', admin, srv.id))
    dt, srv = wait('server ACTIVE', server_status(admin, srv.id, 'ACTIVE'))
    say('time  server from a port -> ACTIVE in %.1f s' % (time.time() - t0))
    p = admin.network.get_port(port.id)
    check(p.device_id == srv.id and p.mac_address == mac and p.fixed_ips[0]['ip_address'] == ip,
          'server from port: port bound to the server, mac/ip unchanged (status=%s vif_type=%s host=%s)'
          % (p.status, p.binding_vif_type, p.binding_host_id))
    addrs = srv.addresses.get('lab-net', [])
    check(any(a.get('OS-EXT-IPS-MAC:mac_addr') == mac and a.get('addr') == ip for a in addrs),
          'server addresses show the mac and ip: %s' % addrs)

    # -- volume from image, then boot from that existing volume
    t0 = time.time()
    vol = admin.block_storage.create_volume(name='probe-boot-' + RUN, size=1, image_id=image.id)
    created.append(('volume', admin, vol.id))
    wait('volume available', volume_status(admin, vol.id, 'available'))
    say('time  volume (1 GiB) from lab-tiny -> available in %.1f s' % (time.time() - t0))
    vol = admin.block_storage.get_volume(vol.id)
    say('info  new volume: type=%s bootable=%s' % (vol.volume_type, vol.is_bootable))
    t0 = time.time()
    bfv = admin.compute.create_server(
        name='probe-bfv-' + RUN, flavor_id=flavor.id, networks=[{'uuid': net.id}],
        block_device_mapping=[{'boot_index': 0, 'uuid': vol.id, 'source_type': 'volume',
                               'destination_type': 'volume', 'delete_on_termination': False}])
    created.append(('server', admin, bfv.id))
    wait('bfv server ACTIVE', server_status(admin, bfv.id, 'ACTIVE'))
    say('time  boot from existing volume -> ACTIVE in %.1f s' % (time.time() - t0))
    v = admin.block_storage.get_volume(vol.id)
    check(v.status == 'in-use' and v.attachments and v.attachments[0]['server_id'] == bfv.id,
          'boot volume in-use, attached to the server as %s'
          % (v.attachments[0].get('device') if v.attachments else None))

    # -- demo: server with a network (no port pre-created)
    t0 = time.time()
    ds = demo.compute.create_server(name='probe-demo-vm-' + RUN, image_id=image.id,
                                    flavor_id=flavor.id, networks=[{'uuid': net.id}])
    created.append(('server', demo, ds.id))
    wait('demo server ACTIVE', server_status(demo, ds.id, 'ACTIVE'))
    say('time  demo user server (network uuid) -> ACTIVE in %.1f s' % (time.time() - t0))


def cleanup():
    for kind, c, rid in reversed(created):
        try:
            if kind == 'server':
                c.compute.delete_server(rid)
                c.compute.wait_for_delete(c.compute.get_server(rid), wait=120)
            elif kind == 'volume':
                wait('volume detached', lambda: c.block_storage.get_volume(rid).status
                     in ('available', 'error'), timeout=120)
                c.block_storage.delete_volume(rid)
            elif kind == 'port':
                c.network.delete_port(rid, ignore_missing=True)
            elif kind == 'network':
                c.network.delete_network(rid, ignore_missing=True)
            elif kind == 'image':
                c.image.delete_image(rid, ignore_missing=True)
        except openstack.exceptions.ResourceNotFound:
            pass
        except Exception as ex:  # noqa
            say('warn  cleanup %s %s: %s' % (kind, rid, ex))


if __name__ == '__main__':
    try:
        main()
    finally:
        cleanup()
    say('PROBE ' + ('FAILED: %d' % len(failed) if failed else 'OK'))
    sys.exit(1 if failed else 0)
