// guts Hyper-V lab: the lab's own virtual disk code (what Windows' VHD stack does on a real host):
// reads VHDX (MS-VHDX) and VHD (dynamic/fixed/differencing) files, resolves differencing chains
// through their parent locators, creates differencing disks (.avhdx / .avhd), writes guest data
// into a disk (allocating blocks, sector bitmaps), merges a child into its parent and re-parents
// a child.  Written from the MS-VHDX specification and the VHD format specification; qemu cannot
// create or read differencing VHDX, so the lab must.  Compiled with the module's enum types.
// (using directives inside the namespace: this source is appended to the enum types' source)
namespace GutsLab
{
    using System;
    using System.Collections.Generic;
    using System.IO;
    using System.Text;

    public class DiskException : System.Exception
    {
        public DiskException(string message) : base(message) { }
    }

    static class Crc32C
    {
        static readonly uint[] Table = MakeTable();
        static uint[] MakeTable()
        {
            var t = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            return t;
        }
        public static uint Compute(byte[] b, int off, int len)
        {
            uint c = 0xFFFFFFFFu;
            for (int i = off; i < off + len; i++) c = Table[(c ^ b[i]) & 0xFF] ^ (c >> 8);
            return c ^ 0xFFFFFFFFu;
        }
    }

    static class BE
    {
        public static uint U32(byte[] b, int o) { return (uint)(b[o] << 24 | b[o + 1] << 16 | b[o + 2] << 8 | b[o + 3]); }
        public static ulong U64(byte[] b, int o) { return (ulong)U32(b, o) << 32 | U32(b, o + 4); }
        public static void Put32(byte[] b, int o, uint v) { b[o] = (byte)(v >> 24); b[o + 1] = (byte)(v >> 16); b[o + 2] = (byte)(v >> 8); b[o + 3] = (byte)v; }
        public static void Put64(byte[] b, int o, ulong v) { Put32(b, o, (uint)(v >> 32)); Put32(b, o + 4, (uint)v); }
        public static void Put16(byte[] b, int o, ushort v) { b[o] = (byte)(v >> 8); b[o + 1] = (byte)v; }
    }

    /// <summary>One virtual disk file (no parent resolution; see Chain).</summary>
    public sealed class VDisk : IDisposable
    {
        public const long MiB = 1024 * 1024;
        public static readonly Guid BatRegion = new Guid("2DC27766-F623-4200-9D64-115E9BFD4A08");
        public static readonly Guid MetadataRegion = new Guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");
        public static readonly Guid FileParametersItem = new Guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
        public static readonly Guid VirtualDiskSizeItem = new Guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
        public static readonly Guid Page83Item = new Guid("BECA12AB-B2E6-4523-93EF-C309E000C746");
        public static readonly Guid LogicalSectorItem = new Guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
        public static readonly Guid PhysicalSectorItem = new Guid("CDA348C7-445D-4471-9CC9-E9885251C556");
        public static readonly Guid ParentLocatorItem = new Guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
        public static readonly Guid VhdxLocatorType = new Guid("B04AEFB7-D19E-4A81-B789-25B8E9445913");
        static readonly DateTime VhdEpoch = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        public string FsPath;
        public string Format;          // VHDX | VHD
        public string Type;            // Fixed | Dynamic | Differencing
        public ulong Size;
        public uint BlockSize;
        public uint LogicalSectorSize = 512, PhysicalSectorSize = 512;
        public Guid DiskId;            // VHDX: Virtual Disk ID (Page 83); VHD: the footer's unique id
        public Guid DataWriteGuid;     // VHDX header; VHD: the footer's unique id (what a child links to)
        public Guid FileWriteGuid;
        public Guid ParentLinkage, ParentLinkage2;
        public uint ParentTimeStamp;   // VHD: the dynamic header's parent time stamp
        public uint TimeStamp;         // VHD: the footer's time stamp
        public readonly Dictionary<string, string> Locator = new Dictionary<string, string>(StringComparer.Ordinal);
        public bool IsDifferencing { get { return Type == "Differencing"; } }

        FileStream s;
        readonly bool writable;
        bool headerUpdated;

        // VHDX
        int curHeader; byte[][] headers = new byte[2][]; ulong seq;
        long batOffset; ulong[] bat; long chunkRatio;
        long metaOffset; int metaLength; int locatorEntryIndex = -1; uint locatorItemOffset; uint locatorItemLength;
        // VHD
        byte[] footer; long dynOffset; byte[] dyn; long vhdBatOffset; uint[] vhdBat; int bitmapBytes;

        VDisk(string path, bool write) { FsPath = path; writable = write; }

        public static VDisk Open(string path, bool write)
        {
            var d = new VDisk(path, write);
            try
            {
                d.s = new FileStream(path, FileMode.Open, write ? FileAccess.ReadWrite : FileAccess.Read, write ? FileShare.Read : FileShare.ReadWrite);
                var sig = d.ReadAt(0, 8);
                if (Encoding.ASCII.GetString(sig) == "vhdxfile") d.LoadVhdx(); else d.LoadVhd();
                return d;
            }
            catch (DiskException) { d.Dispose(); throw; }
            catch (FileNotFoundException) { d.Dispose(); throw; }
            catch (Exception e) { d.Dispose(); throw new DiskException("not a virtual disk (" + e.Message + ")"); }
        }

        public void Dispose() { if (s != null) { s.Dispose(); s = null; } }
        public long FileLength { get { return s.Length; } }

        byte[] ReadAt(long off, int len)
        {
            var b = new byte[len];
            s.Seek(off, SeekOrigin.Begin);
            int n = 0;
            while (n < len) { int r = s.Read(b, n, len - n); if (r <= 0) throw new DiskException("short read at " + off); n += r; }
            return b;
        }
        void ReadInto(long off, byte[] b, int bo, int len)
        {
            s.Seek(off, SeekOrigin.Begin);
            int n = 0;
            while (n < len) { int r = s.Read(b, bo + n, len - n); if (r <= 0) throw new DiskException("short read at " + off); n += r; }
        }
        void WriteAt(long off, byte[] b, int bo, int len) { s.Seek(off, SeekOrigin.Begin); s.Write(b, bo, len); }

        // ------------------------------------------------------------------ VHDX
        void LoadVhdx()
        {
            Format = "VHDX";
            for (int i = 0; i < 2; i++)
            {
                var h = ReadAt((i + 1) * 64 * 1024, 4096);
                uint crc = BitConverter.ToUInt32(h, 4);
                var c = (byte[])h.Clone(); c[4] = c[5] = c[6] = c[7] = 0;
                if (Encoding.ASCII.GetString(h, 0, 4) == "head" && Crc32C.Compute(c, 0, 4096) == crc) headers[i] = h;
            }
            if (headers[0] == null && headers[1] == null) throw new DiskException("no valid VHDX header");
            curHeader = headers[1] == null ? 0 : headers[0] == null ? 1 : (BitConverter.ToUInt64(headers[1], 8) > BitConverter.ToUInt64(headers[0], 8) ? 1 : 0);
            var hd = headers[curHeader];
            seq = BitConverter.ToUInt64(hd, 8);
            FileWriteGuid = new Guid(Slice(hd, 16, 16));
            DataWriteGuid = new Guid(Slice(hd, 32, 16));
            if (new Guid(Slice(hd, 48, 16)) != Guid.Empty) throw new DiskException("the VHDX log is not empty (needs replay)");
            var rt = ReadAt(192 * 1024, 64 * 1024);
            if (Encoding.ASCII.GetString(rt, 0, 4) != "regi") throw new DiskException("bad region table");
            uint n = BitConverter.ToUInt32(rt, 8);
            int batLen = 0;
            for (int i = 0; i < n; i++)
            {
                int e = 16 + 32 * i;
                var g = new Guid(Slice(rt, e, 16));
                if (g == BatRegion) { batOffset = BitConverter.ToInt64(rt, e + 16); batLen = (int)BitConverter.ToUInt32(rt, e + 24); }
                else if (g == MetadataRegion) { metaOffset = BitConverter.ToInt64(rt, e + 16); metaLength = (int)BitConverter.ToUInt32(rt, e + 24); }
            }
            var mt = ReadAt(metaOffset, 64 * 1024);
            if (Encoding.ASCII.GetString(mt, 0, 8) != "metadata") throw new DiskException("bad metadata table");
            int count = BitConverter.ToUInt16(mt, 10);
            var items = new Dictionary<Guid, KeyValuePair<uint, uint>>();
            for (int i = 0; i < count; i++)
            {
                int e = 32 + 32 * i;
                var id = new Guid(Slice(mt, e, 16));
                items[id] = new KeyValuePair<uint, uint>(BitConverter.ToUInt32(mt, e + 16), BitConverter.ToUInt32(mt, e + 20));
                if (id == ParentLocatorItem) { locatorEntryIndex = i; locatorItemOffset = BitConverter.ToUInt32(mt, e + 16); locatorItemLength = BitConverter.ToUInt32(mt, e + 20); }
            }
            Func<Guid, int, byte[]> item = (g, len) =>
            {
                if (!items.ContainsKey(g)) throw new DiskException("missing metadata item " + g);
                return ReadAt(metaOffset + items[g].Key, len);
            };
            var fp = item(FileParametersItem, 8);
            BlockSize = BitConverter.ToUInt32(fp, 0);
            uint flags = BitConverter.ToUInt32(fp, 4);
            Type = (flags & 2) != 0 ? "Differencing" : (flags & 1) != 0 ? "Fixed" : "Dynamic";
            Size = BitConverter.ToUInt64(item(VirtualDiskSizeItem, 8), 0);
            DiskId = new Guid(item(Page83Item, 16));
            LogicalSectorSize = BitConverter.ToUInt32(item(LogicalSectorItem, 4), 0);
            PhysicalSectorSize = BitConverter.ToUInt32(item(PhysicalSectorItem, 4), 0);
            chunkRatio = (long)(1L << 23) * LogicalSectorSize / BlockSize;
            long dataBlocks = (long)((Size + BlockSize - 1) / BlockSize);
            long entries = IsDifferencing ? ((dataBlocks + chunkRatio - 1) / chunkRatio) * (chunkRatio + 1) : dataBlocks + (dataBlocks - 1) / chunkRatio;
            var raw = ReadAt(batOffset, (int)Math.Min((long)batLen, entries * 8));
            bat = new ulong[entries];
            for (long i = 0; i < entries && i * 8 < raw.Length; i++) bat[i] = BitConverter.ToUInt64(raw, (int)(i * 8));
            if (IsDifferencing)
            {
                if (locatorEntryIndex < 0) throw new DiskException("differencing VHDX without a parent locator");
                var pl = ReadAt(metaOffset + locatorItemOffset, (int)locatorItemLength);
                int kv = BitConverter.ToUInt16(pl, 18);
                for (int i = 0; i < kv; i++)
                {
                    int e = 20 + 12 * i;
                    uint ko = BitConverter.ToUInt32(pl, e), vo = BitConverter.ToUInt32(pl, e + 4);
                    int kl = BitConverter.ToUInt16(pl, e + 8), vl = BitConverter.ToUInt16(pl, e + 10);
                    Locator[Encoding.Unicode.GetString(pl, (int)ko, kl)] = Encoding.Unicode.GetString(pl, (int)vo, vl);
                }
                string v;
                if (Locator.TryGetValue("parent_linkage", out v)) ParentLinkage = Guid.Parse(v);
                if (Locator.TryGetValue("parent_linkage2", out v)) ParentLinkage2 = Guid.Parse(v);
            }
        }

        static byte[] Slice(byte[] b, int o, int n) { var r = new byte[n]; Array.Copy(b, o, r, 0, n); return r; }
        long PayloadIndex(long block) { return block + block / chunkRatio; }
        long BitmapIndex(long block) { return (block / chunkRatio) * (chunkRatio + 1) + chunkRatio; }

        // Header update before the first change (MS-VHDX 2.2.2.1): new FileWriteGuid, and a new
        // DataWriteGuid when what the guest reads changes; written to the non-current header, then
        // to the other one, each with a higher sequence number.
        void UpdateHeaders(bool dataChange)
        {
            if (!writable) throw new DiskException("opened read-only");
            FileWriteGuid = Guid.NewGuid();
            if (dataChange) DataWriteGuid = Guid.NewGuid();
            var hd = (byte[])headers[curHeader].Clone();
            for (int k = 0; k < 2; k++)
            {
                seq++;
                BitConverter.GetBytes(seq).CopyTo(hd, 8);
                FileWriteGuid.ToByteArray().CopyTo(hd, 16);
                DataWriteGuid.ToByteArray().CopyTo(hd, 32);
                hd[4] = hd[5] = hd[6] = hd[7] = 0;
                BitConverter.GetBytes(Crc32C.Compute(hd, 0, 4096)).CopyTo(hd, 4);
                int slot = 1 - curHeader;
                WriteAt((slot + 1) * 64 * 1024, hd, 0, 4096);
                s.Flush(true);
                headers[slot] = (byte[])hd.Clone();
                curHeader = slot;
            }
        }

        void WriteBatEntry(long idx, ulong v)
        {
            bat[idx] = v;
            WriteAt(batOffset + idx * 8, BitConverter.GetBytes(v), 0, 8);
        }

        long AllocateMiBAligned(long length)
        {
            long end = (s.Length + MiB - 1) / MiB * MiB;
            s.SetLength(end + length);   // the new space reads as zeros
            return end;
        }

        /// <summary>Kinds of a byte range of this file: 0 = from the parent (differencing) or zero, 1 = data at FileOffset, 2 = zero.</summary>
        public struct Extent { public long Offset; public long Length; public int Kind; public long FileOffset; }

        /// <summary>What this file holds for [off, off+len): a list of extents covering it.</summary>
        public List<Extent> Map(long off, long len)
        {
            var r = new List<Extent>();
            if (Format == "VHDX") MapVhdx(off, len, r); else MapVhd(off, len, r);
            return r;
        }

        static void Add(List<Extent> r, long off, long len, int kind, long fo)
        {
            if (len <= 0) return;
            if (r.Count > 0)
            {
                var last = r[r.Count - 1];
                if (last.Kind == kind && last.Offset + last.Length == off && (kind != 1 || last.FileOffset + last.Length == fo))
                { last.Length += len; r[r.Count - 1] = last; return; }
            }
            r.Add(new Extent { Offset = off, Length = len, Kind = kind, FileOffset = fo });
        }

        void MapVhdx(long off, long len, List<Extent> r)
        {
            long end = off + len;
            while (off < end)
            {
                long block = off / BlockSize, bstart = block * BlockSize, bend = Math.Min(bstart + BlockSize, end);
                ulong e = bat[PayloadIndex(block)];
                int state = (int)(e & 7);
                long fo = (long)(e >> 20) * MiB;
                switch (state)
                {
                    case 6: Add(r, off, bend - off, 1, fo + (off - bstart)); break;
                    case 7:
                        {
                            ulong sb = bat[BitmapIndex(block)];
                            if ((sb & 7) != 6) throw new DiskException("partially present block without a sector bitmap");
                            long sbfo = (long)(sb >> 20) * MiB;
                            long ss = LogicalSectorSize;
                            long firstSector = off / ss, lastSector = (bend - 1) / ss;
                            long chunkFirstSector = (block / chunkRatio) * chunkRatio * (BlockSize / ss);
                            long bitFirst = firstSector - chunkFirstSector;
                            int nbits = (int)(lastSector - firstSector + 1);
                            var bits = ReadAt(sbfo + bitFirst / 8, (int)((bitFirst % 8 + nbits + 7) / 8));
                            for (int i = 0; i < nbits; i++)
                            {
                                long bit = bitFirst % 8 + i;
                                bool present = (bits[bit / 8] >> (int)(bit % 8) & 1) != 0;
                                long so = Math.Max(off, (firstSector + i) * ss), se = Math.Min(bend, (firstSector + i + 1) * ss);
                                Add(r, so, se - so, present ? 1 : 0, fo + (so - bstart));
                            }
                            break;
                        }
                    case 2: case 3: case 5: Add(r, off, bend - off, 2, 0); break;
                    default: Add(r, off, bend - off, IsDifferencing ? 0 : 2, 0); break;   // NOT_PRESENT, UNDEFINED
                }
                off = bend;
            }
        }

        void WriteVhdx(long off, byte[] data, int dataOff, int len)
        {
            long end = off + len;
            while (off < end)
            {
                long block = off / BlockSize, bstart = block * BlockSize, bend = Math.Min(bstart + BlockSize, end);
                long pidx = PayloadIndex(block);
                ulong e = bat[pidx];
                int state = (int)(e & 7);
                long fo = (long)(e >> 20) * MiB;
                bool whole = off == bstart && bend - bstart == BlockSize;
                if (state != 6 && state != 7)
                {
                    fo = AllocateMiBAligned(BlockSize);
                    // a differencing block that was NOT_PRESENT keeps the parent's other sectors (partially
                    // present); one that read as zero (ZERO/UNMAPPED) or any block of a dynamic disk becomes
                    // fully present with zeros around the write
                    bool partial = IsDifferencing && (state == 0 || state == 1) && !whole;
                    if (partial) EnsureBitmap(block);
                    WriteBatEntry(pidx, ((ulong)(fo / MiB) << 20) | (partial ? 7UL : 6UL));
                    state = partial ? 7 : 6;
                }
                WriteAt(fo + (off - bstart), data, dataOff, (int)(bend - off));
                if (state == 7) SetBits(block, off, bend - off);
                dataOff += (int)(bend - off);
                off = bend;
            }
        }

        void EnsureBitmap(long block)
        {
            long sidx = BitmapIndex(block);
            if ((bat[sidx] & 7) == 6) return;
            long fo = AllocateMiBAligned(MiB);
            WriteBatEntry(sidx, ((ulong)(fo / MiB) << 20) | 6UL);
        }

        void SetBits(long block, long off, long len)
        {
            long sbfo = (long)(bat[BitmapIndex(block)] >> 20) * MiB;
            long ss = LogicalSectorSize;
            long chunkFirstSector = (block / chunkRatio) * chunkRatio * (BlockSize / ss);
            long b0 = off / ss - chunkFirstSector, b1 = (off + len - 1) / ss - chunkFirstSector;
            var bits = ReadAt(sbfo + b0 / 8, (int)(b1 / 8 - b0 / 8 + 1));
            for (long b = b0; b <= b1; b++) bits[b / 8 - b0 / 8] |= (byte)(1 << (int)(b % 8));
            WriteAt(sbfo + b0 / 8, bits, 0, bits.Length);
        }

        /// <summary>Rewrites the parent locator (re-parenting); the file's data is unchanged.</summary>
        public void SetParentLocator(IList<KeyValuePair<string, string>> kv)
        {
            if (Format == "VHD") { SetVhdParent(kv); return; }
            if (!IsDifferencing || locatorEntryIndex < 0) throw new DiskException("not a differencing VHDX");
            if (!headerUpdated) { UpdateHeaders(false); headerUpdated = true; }
            var item = BuildLocator(kv);
            if (locatorItemOffset + item.Length > metaLength) throw new DiskException("parent locator does not fit");
            WriteAt(metaOffset + locatorItemOffset, item, 0, item.Length);
            var len = BitConverter.GetBytes((uint)item.Length);
            WriteAt(metaOffset + 32 + 32 * locatorEntryIndex + 20, len, 0, 4);
            locatorItemLength = (uint)item.Length;
            Locator.Clear();
            foreach (var p in kv) Locator[p.Key] = p.Value;
            ParentLinkage = Guid.Parse(Locator["parent_linkage"]);
            s.Flush(true);
        }

        static byte[] BuildLocator(IList<KeyValuePair<string, string>> kv)
        {
            var strings = new MemoryStream();
            int tableEnd = 20 + 12 * kv.Count;
            var head = new byte[tableEnd];
            VhdxLocatorType.ToByteArray().CopyTo(head, 0);
            BitConverter.GetBytes((ushort)kv.Count).CopyTo(head, 18);
            for (int i = 0; i < kv.Count; i++)
            {
                var k = Encoding.Unicode.GetBytes(kv[i].Key);
                var v = Encoding.Unicode.GetBytes(kv[i].Value);
                int ko = tableEnd + (int)strings.Length; strings.Write(k, 0, k.Length);
                int vo = tableEnd + (int)strings.Length; strings.Write(v, 0, v.Length);
                int e = 20 + 12 * i;
                BitConverter.GetBytes((uint)ko).CopyTo(head, e);
                BitConverter.GetBytes((uint)vo).CopyTo(head, e + 4);
                BitConverter.GetBytes((ushort)k.Length).CopyTo(head, e + 8);
                BitConverter.GetBytes((ushort)v.Length).CopyTo(head, e + 10);
            }
            var all = new byte[tableEnd + strings.Length];
            head.CopyTo(all, 0);
            strings.ToArray().CopyTo(all, tableEnd);
            return all;
        }

        /// <summary>A new differencing VHDX whose parent is the disk <paramref name="parent"/>:
        /// 2 MiB blocks (Hyper-V's default for differencing disks), the parent's size, sector sizes and
        /// virtual disk id (IsVirtualDisk metadata is copied when forking), every BAT entry NOT_PRESENT.</summary>
        public static void CreateVhdxChild(string path, VDisk parent, IList<KeyValuePair<string, string>> locator)
        {
            const uint blockSize = 2 * 1024 * 1024;
            ulong size = parent.Size;
            uint lss = parent.LogicalSectorSize, pss = parent.PhysicalSectorSize;
            long chunk = (1L << 23) * lss / blockSize;
            long dataBlocks = (long)((size + blockSize - 1) / blockSize);
            long entries = ((dataBlocks + chunk - 1) / chunk) * (chunk + 1);
            long batLen = (entries * 8 + MiB - 1) / MiB * MiB;
            long logOff = 1 * MiB, logLen = 1 * MiB, metaOff = 2 * MiB, metaLen = 1 * MiB, batOff = 3 * MiB;
            var f = new byte[batOff + batLen];
            Encoding.ASCII.GetBytes("vhdxfile").CopyTo(f, 0);
            Encoding.Unicode.GetBytes("Microsoft Windows 10.0.20348.0").CopyTo(f, 8);
            var fwg = Guid.NewGuid(); var dwg = Guid.NewGuid();
            for (int i = 0; i < 2; i++)
            {
                var h = new byte[4096];
                Encoding.ASCII.GetBytes("head").CopyTo(h, 0);
                BitConverter.GetBytes((ulong)(i + 1)).CopyTo(h, 8);
                fwg.ToByteArray().CopyTo(h, 16);
                dwg.ToByteArray().CopyTo(h, 32);
                BitConverter.GetBytes((ushort)0).CopyTo(h, 64);          // LogVersion (no log)
                BitConverter.GetBytes((ushort)1).CopyTo(h, 66);          // Version
                BitConverter.GetBytes((uint)logLen).CopyTo(h, 68);
                BitConverter.GetBytes((ulong)logOff).CopyTo(h, 72);
                BitConverter.GetBytes(Crc32C.Compute(h, 0, 4096)).CopyTo(h, 4);
                h.CopyTo(f, (i + 1) * 64 * 1024);
            }
            var rt = new byte[64 * 1024];
            Encoding.ASCII.GetBytes("regi").CopyTo(rt, 0);
            BitConverter.GetBytes(2u).CopyTo(rt, 8);
            BatRegion.ToByteArray().CopyTo(rt, 16);
            BitConverter.GetBytes((ulong)batOff).CopyTo(rt, 32);
            BitConverter.GetBytes((uint)batLen).CopyTo(rt, 40);
            BitConverter.GetBytes(1u).CopyTo(rt, 44);
            MetadataRegion.ToByteArray().CopyTo(rt, 48);
            BitConverter.GetBytes((ulong)metaOff).CopyTo(rt, 64);
            BitConverter.GetBytes((uint)metaLen).CopyTo(rt, 72);
            BitConverter.GetBytes(1u).CopyTo(rt, 76);
            BitConverter.GetBytes(Crc32C.Compute(rt, 0, rt.Length)).CopyTo(rt, 4);
            rt.CopyTo(f, 192 * 1024);
            rt.CopyTo(f, 256 * 1024);
            // metadata table + items (items from 64 KiB into the region)
            var loc = BuildLocator(locator);
            var mt = new byte[64 * 1024];
            Encoding.ASCII.GetBytes("metadata").CopyTo(mt, 0);
            var itemsList = new List<Tuple<Guid, byte[], uint>>
            {
                Tuple.Create(FileParametersItem, Concat(BitConverter.GetBytes(blockSize), BitConverter.GetBytes(2u)), 4u),
                Tuple.Create(VirtualDiskSizeItem, BitConverter.GetBytes(size), 6u),
                Tuple.Create(Page83Item, parent.DiskId.ToByteArray(), 6u),
                Tuple.Create(LogicalSectorItem, BitConverter.GetBytes(lss), 6u),
                Tuple.Create(PhysicalSectorItem, BitConverter.GetBytes(pss), 6u),
                Tuple.Create(ParentLocatorItem, loc, 4u),
            };
            BitConverter.GetBytes((ushort)itemsList.Count).CopyTo(mt, 10);
            int itemOff = 64 * 1024;
            for (int i = 0; i < itemsList.Count; i++)
            {
                int e = 32 + 32 * i;
                itemsList[i].Item1.ToByteArray().CopyTo(mt, e);
                BitConverter.GetBytes((uint)itemOff).CopyTo(mt, e + 16);
                BitConverter.GetBytes((uint)itemsList[i].Item2.Length).CopyTo(mt, e + 20);
                BitConverter.GetBytes(itemsList[i].Item3).CopyTo(mt, e + 24);
                itemsList[i].Item2.CopyTo(f, metaOff + itemOff);
                itemOff += (itemsList[i].Item2.Length + 7) / 8 * 8;
            }
            mt.CopyTo(f, metaOff);
            // BAT: all zero = PAYLOAD_BLOCK_NOT_PRESENT / SB_BLOCK_NOT_PRESENT
            var tmp = path + ".tmp";
            File.WriteAllBytes(tmp, f);
            File.Move(tmp, path, false);
        }

        static byte[] Concat(byte[] a, byte[] b) { var r = new byte[a.Length + b.Length]; a.CopyTo(r, 0); b.CopyTo(r, a.Length); return r; }

        // ------------------------------------------------------------------ VHD
        static uint VhdChecksum(byte[] b, int off, int len, int skip)
        {
            uint sum = 0;
            for (int i = 0; i < len; i++) if (i < skip || i >= skip + 4) sum += b[off + i];
            return ~sum;
        }

        void LoadVhd()
        {
            Format = "VHD";
            footer = ReadAt(s.Length - 512, 512);
            if (Encoding.ASCII.GetString(footer, 0, 8) != "conectix") throw new DiskException("no VHD footer");
            uint type = BE.U32(footer, 0x3C);
            Size = BE.U64(footer, 0x30);
            TimeStamp = BE.U32(footer, 0x18);
            DiskId = DataWriteGuid = new Guid(Slice(footer, 0x44, 16));
            Type = type == 2 ? "Fixed" : type == 3 ? "Dynamic" : type == 4 ? "Differencing" : "Unknown";
            if (type == 2) { BlockSize = 0; return; }
            dynOffset = (long)BE.U64(footer, 0x10);
            dyn = ReadAt(dynOffset, 1024);
            if (Encoding.ASCII.GetString(dyn, 0, 8) != "cxsparse") throw new DiskException("bad VHD dynamic header");
            vhdBatOffset = (long)BE.U64(dyn, 0x10);
            uint maxEntries = BE.U32(dyn, 0x1C);
            BlockSize = BE.U32(dyn, 0x20);
            bitmapBytes = (int)(((BlockSize / 512 + 7) / 8 + 511) / 512 * 512);
            var raw = ReadAt(vhdBatOffset, (int)maxEntries * 4);
            vhdBat = new uint[maxEntries];
            for (int i = 0; i < maxEntries; i++) vhdBat[i] = BE.U32(raw, i * 4);
            if (type == 4)
            {
                ParentLinkage = new Guid(Slice(dyn, 0x28, 16));
                ParentTimeStamp = BE.U32(dyn, 0x38);
                string name = Encoding.BigEndianUnicode.GetString(dyn, 0x40, 512).TrimEnd('\0');
                Locator["ParentUnicodeName"] = name;
                for (int i = 0; i < 8; i++)
                {
                    int e = 0x240 + 24 * i;
                    uint code = BE.U32(dyn, e);
                    if (code == 0) continue;
                    uint dlen = BE.U32(dyn, e + 8);
                    long doff = (long)BE.U64(dyn, e + 16);
                    string key = Encoding.ASCII.GetString(dyn, e, 4);
                    var data = ReadAt(doff, (int)dlen);
                    Locator[key] = key.EndsWith("u") ? Encoding.Unicode.GetString(data).TrimEnd('\0') : Encoding.UTF8.GetString(data).TrimEnd('\0');
                }
            }
        }

        void MapVhd(long off, long len, List<Extent> r)
        {
            long end = off + len;
            if (Type == "Fixed") { Add(r, off, len, 1, off); return; }
            while (off < end)
            {
                long block = off / BlockSize, bstart = block * BlockSize, bend = Math.Min(bstart + BlockSize, end);
                uint e = vhdBat[block];
                if (e == 0xFFFFFFFF) { Add(r, off, bend - off, IsDifferencing ? 0 : 2, 0); off = bend; continue; }
                long data = (long)e * 512 + bitmapBytes;
                if (!IsDifferencing) { Add(r, off, bend - off, 1, data + (off - bstart)); off = bend; continue; }
                long first = (off - bstart) / 512, last = (bend - 1 - bstart) / 512;
                var bm = ReadAt((long)e * 512, bitmapBytes);
                for (long sct = first; sct <= last; sct++)
                {
                    bool present = (bm[sct / 8] & (0x80 >> (int)(sct % 8))) != 0;   // MSB first
                    long so = Math.Max(off, bstart + sct * 512), se = Math.Min(bend, bstart + (sct + 1) * 512);
                    Add(r, so, se - so, present ? 1 : 0, data + (so - bstart));
                }
                off = bend;
            }
        }

        void WriteVhd(long off, byte[] dataBuf, int dataOff, int len)
        {
            if (Type == "Fixed") { WriteAt(off, dataBuf, dataOff, len); return; }
            long end = off + len;
            while (off < end)
            {
                long block = off / BlockSize, bstart = block * BlockSize, bend = Math.Min(bstart + BlockSize, end);
                if (vhdBat[block] == 0xFFFFFFFF)
                {
                    // a new block where the footer is: bitmap (all set for a dynamic disk), zeros, footer again
                    long at = s.Length - 512;
                    var bm = new byte[bitmapBytes];
                    if (!IsDifferencing) for (int i = 0; i < bm.Length; i++) bm[i] = 0xFF;
                    WriteAt(at, bm, 0, bm.Length);
                    s.SetLength(at + bitmapBytes + BlockSize);
                    WriteAt(s.Length, footer, 0, 512);
                    vhdBat[block] = (uint)(at / 512);
                    var be = new byte[4]; BE.Put32(be, 0, vhdBat[block]);
                    WriteAt(vhdBatOffset + block * 4, be, 0, 4);
                }
                long blk = (long)vhdBat[block] * 512;
                WriteAt(blk + bitmapBytes + (off - bstart), dataBuf, dataOff, (int)(bend - off));
                if (IsDifferencing)
                {
                    long first = (off - bstart) / 512, last = (bend - 1 - bstart) / 512;
                    var bm = ReadAt(blk, bitmapBytes);
                    for (long sct = first; sct <= last; sct++) bm[sct / 8] |= (byte)(0x80 >> (int)(sct % 8));
                    WriteAt(blk, bm, 0, bitmapBytes);
                }
                dataOff += (int)(bend - off);
                off = bend;
            }
        }

        void TouchVhdFooter()
        {
            // a VHD has no write GUIDs: its footer time stamp is what changes
            TimeStamp = (uint)(DateTime.UtcNow - VhdEpoch).TotalSeconds;
            BE.Put32(footer, 0x18, TimeStamp);
            BE.Put32(footer, 0x40, VhdChecksum(footer, 0, 512, 0x40));
            WriteAt(s.Length - 512, footer, 0, 512);
            if (Type != "Fixed") WriteAt(0, footer, 0, 512);
        }

        void SetVhdParent(IList<KeyValuePair<string, string>> kv)
        {
            if (!IsDifferencing) throw new DiskException("not a differencing VHD");
            var d = new Dictionary<string, string>();
            foreach (var p in kv) d[p.Key] = p.Value;
            WriteVhdParentFields(dyn, d, s);
            BE.Put32(dyn, 0x24, VhdChecksum(dyn, 0, 1024, 0x24));
            WriteAt(dynOffset, dyn, 0, 1024);
            Locator.Clear();
            foreach (var p in d) if (p.Key != "ParentUniqueId" && p.Key != "ParentTimeStamp") Locator[p.Key] = p.Value;
            ParentLinkage = Guid.Parse(d["ParentUniqueId"]);
            s.Flush(true);
        }

        // the dynamic header's parent fields; locator data areas are at fixed places reserved at create
        static void WriteVhdParentFields(byte[] dh, Dictionary<string, string> d, FileStream fs)
        {
            Guid.Parse(d["ParentUniqueId"]).ToByteArray().CopyTo(dh, 0x28);
            BE.Put32(dh, 0x38, uint.Parse(d["ParentTimeStamp"]));
            Array.Clear(dh, 0x40, 512);
            var nm = Encoding.BigEndianUnicode.GetBytes(d["ParentUnicodeName"]);
            Array.Copy(nm, 0, dh, 0x40, Math.Min(nm.Length, 510));
            string[] keys = { "W2ru", "W2ku" };
            for (int i = 0; i < 2; i++)
            {
                int e = 0x240 + 24 * i;
                long doff = (long)BE.U64(dh, e + 16);
                uint space = BE.U32(dh, e + 4);
                var data = Encoding.Unicode.GetBytes(d[keys[i]]);
                if (data.Length > space * 512) throw new DiskException("parent locator does not fit");
                Encoding.ASCII.GetBytes(keys[i]).CopyTo(dh, e);
                BE.Put32(dh, e + 8, (uint)data.Length);
                var area = new byte[space * 512];
                data.CopyTo(area, 0);
                fs.Seek(doff, SeekOrigin.Begin); fs.Write(area, 0, area.Length);
            }
        }

        /// <summary>A new differencing VHD (disk type 4, .avhd) whose parent is <paramref name="parent"/>:
        /// 2 MiB blocks, a 512-byte sector bitmap per block, parent locators W2ru (relative) and W2ku
        /// (absolute), UTF-16LE as Windows writes them.</summary>
        public static void CreateVhdChild(string path, VDisk parent, IList<KeyValuePair<string, string>> kv)
        {
            const uint blockSize = 2 * 1024 * 1024;
            var d = new Dictionary<string, string>();
            foreach (var p in kv) d[p.Key] = p.Value;
            d["ParentUniqueId"] = parent.DataWriteGuid.ToString();
            d["ParentTimeStamp"] = parent.TimeStamp.ToString();
            uint maxEntries = (uint)((parent.Size + blockSize - 1) / blockSize);
            long locOff = 512 + 1024, locSpace = 2 * 512;              // two locator areas of 1 KiB
            long batOff = locOff + 2 * locSpace;
            long batLen = (maxEntries * 4 + 511) / 512 * 512;
            var foot = (byte[])parent.footer.Clone();
            BE.Put32(foot, 0x08, 2);                                  // features: reserved bit
            BE.Put32(foot, 0x0C, 0x00010000);
            BE.Put64(foot, 0x10, 512);
            BE.Put32(foot, 0x18, (uint)(DateTime.UtcNow - VhdEpoch).TotalSeconds);
            Encoding.ASCII.GetBytes("win ").CopyTo(foot, 0x1C);
            BE.Put32(foot, 0x20, 0x000A0000);
            Encoding.ASCII.GetBytes("Wi2k").CopyTo(foot, 0x24);
            BE.Put32(foot, 0x3C, 4);
            Guid.NewGuid().ToByteArray().CopyTo(foot, 0x44);
            foot[0x54] = 0;
            BE.Put32(foot, 0x40, VhdChecksum(foot, 0, 512, 0x40));
            var dh = new byte[1024];
            Encoding.ASCII.GetBytes("cxsparse").CopyTo(dh, 0);
            BE.Put64(dh, 0x08, 0xFFFFFFFFFFFFFFFFUL);
            BE.Put64(dh, 0x10, (ulong)batOff);
            BE.Put32(dh, 0x18, 0x00010000);
            BE.Put32(dh, 0x1C, maxEntries);
            BE.Put32(dh, 0x20, blockSize);
            for (int i = 0; i < 2; i++)
            {
                int e = 0x240 + 24 * i;
                BE.Put32(dh, e + 4, (uint)(locSpace / 512));         // platform data space, in sectors
                BE.Put64(dh, e + 16, (ulong)(locOff + i * locSpace));
            }
            var tmp = path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                fs.SetLength(batOff + batLen + 512);
                WriteVhdParentFields(dh, d, fs);
                BE.Put32(dh, 0x24, VhdChecksum(dh, 0, 1024, 0x24));
                fs.Seek(0, SeekOrigin.Begin); fs.Write(foot, 0, 512);
                fs.Write(dh, 0, 1024);
                var batb = new byte[batLen];
                for (int i = 0; i < batb.Length; i++) batb[i] = 0xFF;
                fs.Seek(batOff, SeekOrigin.Begin); fs.Write(batb, 0, batb.Length);
                fs.Write(foot, 0, 512);
            }
            File.Move(tmp, path, false);
        }

        // ------------------------------------------------------------------ both
        /// <summary>Guest data into this file (sector-aligned), the way the host's VHD stack writes it.</summary>
        public void Write(long off, byte[] data, int dataOff, int len)
        {
            if (!writable) throw new DiskException("opened read-only");
            if (off % LogicalSectorSize != 0 || len % LogicalSectorSize != 0) throw new DiskException("writes must be whole " + LogicalSectorSize + "-byte sectors");
            if (off < 0 || (ulong)(off + len) > Size) throw new DiskException("write beyond the end of the virtual disk");
            if (Format == "VHDX")
            {
                if (!headerUpdated) { UpdateHeaders(true); headerUpdated = true; }
                WriteVhdx(off, data, dataOff, len);
            }
            else
            {
                WriteVhd(off, data, dataOff, len);
                if (!headerUpdated) { TouchVhdFooter(); headerUpdated = true; }
            }
        }

        public void Flush() { s.Flush(true); }

        public void ReadData(long fileOffset, byte[] b, int bo, int len) { ReadInto(fileOffset, b, bo, len); }
    }

    /// <summary>A disk and its parents (leaf first), opened through the parent locators the way
    /// Windows opens a chain: relative path first, then volume path, then absolute path; the
    /// parent's identity must match the child's linkage.</summary>
    public sealed class Chain : IDisposable
    {
        public readonly List<VDisk> Disks = new List<VDisk>();
        public readonly string CRoot;
        public const string LabVolumeGuid = "{6B29FC40-CA47-1067-B31D-00DD010662DA}";

        public Chain(string leafFsPath, string cRoot, bool writeLeaf)
        {
            CRoot = cRoot;
            try
            {
                var d = VDisk.Open(leafFsPath, writeLeaf);
                Disks.Add(d);
                while (d.IsDifferencing)
                {
                    string p = ResolveParent(d, cRoot);
                    if (p == null) throw new DiskException("The system cannot locate the parent virtual hard disk for the differencing disk.");
                    var parent = VDisk.Open(p, false);
                    Disks.Add(parent);
                    if (parent.DataWriteGuid != d.ParentLinkage && parent.DataWriteGuid != d.ParentLinkage2)
                        throw new DiskException("The chain of virtual hard disks is corrupted. There is a mismatch in the identifiers of the parent virtual hard disk and differencing disk.");
                    d = parent;
                }
            }
            catch { Dispose(); throw; }
        }

        public void Dispose() { foreach (var d in Disks) d.Dispose(); Disks.Clear(); }

        public static string WinToFs(string win, string cRoot)
        {
            if (win.StartsWith(@"\\?\")) win = win.Substring(4);
            if (win.StartsWith(@"\\?\Volume" , StringComparison.OrdinalIgnoreCase)) return null;
            if (win.StartsWith(@"Volume" + LabVolumeGuid, StringComparison.OrdinalIgnoreCase)) win = "C:" + win.Substring(6 + LabVolumeGuid.Length);
            if (win.Length < 3 || !(win[0] == 'C' || win[0] == 'c') || win[1] != ':') return null;
            return cRoot.TrimEnd('/') + "/" + win.Substring(3).Replace('\\', '/');
        }

        /// <summary>The parent's file, or null when none of the locator's paths exists.</summary>
        public static string ResolveParent(VDisk d, string cRoot)
        {
            string dir = Path.GetDirectoryName(d.FsPath), v;
            var tries = new List<string>();
            if (d.Format == "VHDX")
            {
                if (d.Locator.TryGetValue("relative_path", out v)) tries.Add(Path.GetFullPath(Path.Combine(dir, v.Replace('\\', '/'))));
                if (d.Locator.TryGetValue("volume_path", out v)) tries.Add(WinToFs(v, cRoot));
                if (d.Locator.TryGetValue("absolute_win32_path", out v)) tries.Add(WinToFs(v, cRoot));
            }
            else
            {
                if (d.Locator.TryGetValue("W2ru", out v)) tries.Add(Path.GetFullPath(Path.Combine(dir, v.Replace('\\', '/'))));
                if (d.Locator.TryGetValue("W2ku", out v)) tries.Add(WinToFs(v, cRoot));
            }
            foreach (var t in tries) if (t != null && File.Exists(t)) return t;
            return null;
        }

        /// <summary>The parent's Windows path as Get-VHD reports it (ParentPath).</summary>
        public static string ParentWinPath(VDisk d)
        {
            string v;
            if (d.Format == "VHDX" && d.Locator.TryGetValue("absolute_win32_path", out v)) return v.StartsWith(@"\\?\") ? v.Substring(4) : v;
            if (d.Format == "VHD" && d.Locator.TryGetValue("W2ku", out v)) return v;
            return null;
        }

        public ulong Size { get { return Disks[0].Size; } }

        /// <summary>What the guest reads at [off, off+len).</summary>
        public void Read(long off, byte[] buf, int bo, int len) { ReadLevel(0, off, buf, bo, len); }

        void ReadLevel(int level, long off, byte[] buf, int bo, int len)
        {
            if (level >= Disks.Count) { Array.Clear(buf, bo, len); return; }
            foreach (var e in Disks[level].Map(off, len))
            {
                int at = bo + (int)(e.Offset - off);
                if (e.Kind == 1) Disks[level].ReadData(e.FileOffset, buf, at, (int)e.Length);
                else if (e.Kind == 2) Array.Clear(buf, at, (int)e.Length);
                else ReadLevel(level + 1, e.Offset, buf, at, (int)e.Length);
            }
        }

        /// <summary>The guest-visible content of the whole disk, to a raw file.</summary>
        public void ExportRaw(string outPath)
        {
            const int chunk = 4 * 1024 * 1024;
            var buf = new byte[chunk];
            using (var o = new FileStream(outPath, FileMode.Create, FileAccess.Write))
            {
                long size = (long)Size;
                for (long off = 0; off < size; off += chunk)
                {
                    int n = (int)Math.Min(chunk, size - off);
                    Read(off, buf, 0, n);
                    bool zero = true;
                    for (int i = 0; i < n && zero; i++) zero = buf[i] == 0;
                    if (zero) o.Seek(n, SeekOrigin.Current); else o.Write(buf, 0, n);
                }
                o.SetLength(size);
            }
        }

        /// <summary>Merges the leaf (a differencing disk) into its parent: every sector the leaf holds is
        /// written into the parent file, the way Remove-VMSnapshot / Merge-VHD does.  Returns bytes merged.
        /// The parent's DataWriteGuid changes (VHDX) or its time stamp (VHD).</summary>
        public static long MergeIntoParent(string childFs, string parentFs, string cRoot)
        {
            long merged = 0;
            using (var child = VDisk.Open(childFs, false))
            using (var parent = VDisk.Open(parentFs, true))
            {
                if (!child.IsDifferencing) throw new DiskException("not a differencing disk");
                var p = ResolveParent(child, cRoot);
                if (p == null || Path.GetFullPath(p) != Path.GetFullPath(parentFs)) throw new DiskException("The system cannot locate the parent virtual hard disk for the differencing disk.");
                if (parent.DataWriteGuid != child.ParentLinkage && parent.DataWriteGuid != child.ParentLinkage2)
                    throw new DiskException("The chain of virtual hard disks is corrupted. There is a mismatch in the identifiers of the parent virtual hard disk and differencing disk.");
                const int step = 8 * 1024 * 1024;
                byte[] buf = new byte[step];
                long size = (long)child.Size;
                for (long off = 0; off < size; off += step)
                {
                    foreach (var e in child.Map(off, Math.Min(step, size - off)))
                    {
                        if (e.Kind == 0) continue;   // the parent's own data stays
                        if (e.Kind == 1) child.ReadData(e.FileOffset, buf, 0, (int)e.Length);
                        else Array.Clear(buf, 0, (int)e.Length);
                        parent.Write(e.Offset, buf, 0, (int)e.Length);
                        merged += e.Length;
                    }
                }
                parent.Flush();
            }
            return merged;
        }

        /// <summary>The parent locator a new child of <paramref name="parentWin"/> at <paramref name="childWin"/> gets.</summary>
        public static List<KeyValuePair<string, string>> LocatorFor(VDisk parent, string parentWin, string childWin)
        {
            string rel = RelativeWin(childWin, parentWin);
            var kv = new List<KeyValuePair<string, string>>();
            if (parent.Format == "VHDX")
            {
                kv.Add(new KeyValuePair<string, string>("parent_linkage", parent.DataWriteGuid.ToString("B")));
                kv.Add(new KeyValuePair<string, string>("relative_path", rel));
                kv.Add(new KeyValuePair<string, string>("volume_path", @"\\?\Volume" + LabVolumeGuid + parentWin.Substring(2)));
                kv.Add(new KeyValuePair<string, string>("absolute_win32_path", @"\\?\" + parentWin));
            }
            else
            {
                kv.Add(new KeyValuePair<string, string>("ParentUniqueId", parent.DataWriteGuid.ToString()));
                kv.Add(new KeyValuePair<string, string>("ParentTimeStamp", parent.TimeStamp.ToString()));
                kv.Add(new KeyValuePair<string, string>("ParentUnicodeName", parentWin));
                kv.Add(new KeyValuePair<string, string>("W2ru", rel));
                kv.Add(new KeyValuePair<string, string>("W2ku", parentWin));
            }
            return kv;
        }

        static string RelativeWin(string fromFile, string toFile)
        {
            var a = fromFile.Split('\\'); var b = toFile.Split('\\');
            int i = 0;
            while (i < a.Length - 1 && i < b.Length - 1 && string.Equals(a[i], b[i], StringComparison.OrdinalIgnoreCase)) i++;
            var sb = new StringBuilder();
            if (i == a.Length - 1) sb.Append(@".\");
            for (int k = i; k < a.Length - 1; k++) sb.Append(@"..\");
            sb.Append(string.Join("\\", b, i, b.Length - i));
            return sb.ToString();
        }

        /// <summary>Creates the differencing child (avhdx for VHDX parents, avhd for VHD) of parentFs at childFs.</summary>
        public static void CreateChild(string parentFs, string parentWin, string childFs, string childWin)
        {
            using (var parent = VDisk.Open(parentFs, false))
            {
                var kv = LocatorFor(parent, parentWin, childWin);
                if (parent.Format == "VHDX") VDisk.CreateVhdxChild(childFs, parent, kv);
                else VDisk.CreateVhdChild(childFs, parent, kv);
            }
        }

        /// <summary>Points childFs at a new parent (after that parent absorbed the child's old parent).</summary>
        public static void Reparent(string childFs, string childWin, string parentFs, string parentWin)
        {
            using (var parent = VDisk.Open(parentFs, false))
            using (var child = VDisk.Open(childFs, true))
            {
                child.SetParentLocator(LocatorFor(parent, parentWin, childWin));
            }
        }
    }
}
