using System.Buffers.Binary;
using System.Text;

namespace LlmNotebooks.Platform;

/// <summary>
/// Marks symbol-version requirements of an ELF64 shared library as weak (VER_FLG_WEAK), so the dynamic loader
/// accepts a system library that lacks those versions. Used on a <em>copy</em> of TorchSharp's native library,
/// never on the original: see <see cref="TorchNativeLoader"/>.
/// </summary>
/// <remarks>
/// Layout (System V gABI, GNU extensions): the section of type SHT_GNU_verneed (.gnu.version_r) holds Verneed
/// records, one per needed library, each followed by its Vernaux records, one per required version. The vna_flags
/// field of a Vernaux gets the bit 0x2 (weak); vna_name is an offset into the string table named by sh_link.
/// Example: requirement GLIBCXX_3.4.32 of libstdc++.so.6, flags 0x0 -> 0x2.
/// </remarks>
public static class ElfVersionPatcher
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    /// <summary>Returns a patched copy of <paramref name="elf"/> and the version names that were weakened.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a 64-bit little-endian ELF file.</exception>
    public static (byte[] Patched, IReadOnlyList<string> Weakened) WeakenVersions(ReadOnlySpan<byte> elf, IReadOnlyCollection<string> versions)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("Not an ELF file (missing the 0x7F 'ELF' magic).");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("Only 64-bit little-endian ELF files are supported.");

        var bytes = elf.ToArray();
        var span = bytes.AsSpan();
        ulong shoff = U64(span, 0x28);
        int shentsize = U16(span, 0x3A), shnum = U16(span, 0x3C);
        var weakened = new List<string>();

        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            if (U32(span, sh + 4) != ShtGnuVerneed) continue;
            ulong offset = U64(span, sh + 0x18);
            uint link = U32(span, sh + 0x28), count = U32(span, sh + 0x2C);
            int strSh = checked((int)shoff + (int)link * shentsize);
            ulong strOffset = U64(span, strSh + 0x18);

            int vn = (int)offset;
            for (uint n = 0; n < count; n++)
            {
                int auxCount = U16(span, vn + 2);
                int aux = vn + (int)U32(span, vn + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    string name = CString(span, (int)strOffset + (int)U32(span, aux + 8));
                    if (versions.Contains(name))
                    {
                        ushort flags = U16(span, aux + 4);
                        BinaryPrimitives.WriteUInt16LittleEndian(span[(aux + 4)..], (ushort)(flags | VerFlagWeak));
                        weakened.Add(name);
                    }
                    uint next = U32(span, aux + 12);
                    if (next == 0) break;
                    aux += (int)next;
                }
                uint vnNext = U32(span, vn + 12);
                if (vnNext == 0) break;
                vn += (int)vnNext;
            }
        }
        return (bytes, weakened);
    }

    static ushort U16(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt16LittleEndian(s[at..]);
    static uint U32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);
    static ulong U64(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);

    static string CString(ReadOnlySpan<byte> s, int at)
    {
        int end = s[at..].IndexOf((byte)0);
        return Encoding.ASCII.GetString(s.Slice(at, end));
    }
}
