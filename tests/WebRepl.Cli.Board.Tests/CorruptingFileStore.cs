using System.Collections.Concurrent;
using WebRepl.Device;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// The board's own store, except that some uploads arrive damaged: one byte flipped (an empty file gets a stray
/// byte instead), as a flaky link or flash would do. Only SHA-256 verification can notice, since the size is
/// right and the board acknowledges the PUT as usual.
/// </summary>
/// <param name="inner">The real store.</param>
/// <param name="corruptEvery">True: damage every upload. False: only the first upload of each path.</param>
public sealed class CorruptingFileStore(IWebReplFileStore inner, bool corruptEvery) : IWebReplFileStore
{
    private readonly ConcurrentDictionary<string, int> _uploads = new(StringComparer.Ordinal);

    /// <summary>How many uploads each board path got (normalized: no leading <c>/</c>).</summary>
    public int UploadsOf(string path) => _uploads.GetValueOrDefault(path.TrimStart('/'));

    public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

    public async ValueTask<IWebReplFileUpload> CreateAsync(string path, CancellationToken cancellationToken)
    {
        var upload = await inner.CreateAsync(path, cancellationToken);
        int count = _uploads.AddOrUpdate(path.TrimStart('/'), 1, (_, n) => n + 1);
        return corruptEvery || count == 1 ? new Damaged(upload) : upload;
    }

    private sealed class Damaged(IWebReplFileUpload inner) : IWebReplFileUpload
    {
        private readonly FlipFirstByte _stream = new(inner.Stream);

        public Stream Stream => _stream;

        public async ValueTask CommitAsync(CancellationToken cancellationToken)
        {
            if (!_stream.Flipped)
            {
                await inner.Stream.WriteAsync("!"u8.ToArray(), cancellationToken);
            }

            await inner.CommitAsync(cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class FlipFirstByte(Stream inner) : Stream
    {
        public bool Flipped { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Write(byte[] buffer, int offset, int count)
        {
            byte[] copy = buffer.AsSpan(offset, count).ToArray();
            if (!Flipped && count > 0)
            {
                copy[count / 2] ^= 0x20;
                Flipped = true;
            }

            inner.Write(copy);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!Flipped && buffer.Length > 0)
            {
                byte[] copy = buffer.ToArray();
                copy[copy.Length / 2] ^= 0x20;
                Flipped = true;
                return inner.WriteAsync(copy, cancellationToken);
            }

            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>A board whose PUTs arrive damaged the first time for each path (verification must resend once and succeed).</summary>
public sealed class CorruptFirstUploadBoardFixture : BoardFixture
{
    public CorruptingFileStore? Store { get; private set; }

    protected override WebRepl.Board.VirtualBoardOptions Configure(WebRepl.Board.VirtualBoardOptions options) =>
        options with { FileStore = root => Store = new CorruptingFileStore(new DirectoryFileStore(root), corruptEvery: false) };
}

/// <summary>A board whose PUTs always arrive damaged (verification must fail clearly).</summary>
public sealed class CorruptEveryUploadBoardFixture : BoardFixture
{
    public CorruptingFileStore? Store { get; private set; }

    protected override WebRepl.Board.VirtualBoardOptions Configure(WebRepl.Board.VirtualBoardOptions options) =>
        options with { FileStore = root => Store = new CorruptingFileStore(new DirectoryFileStore(root), corruptEvery: true) };
}
