using WebRepl.Device;

namespace WebRepl.Tests.Support;

/// <summary>
/// A <see cref="DirectoryFileStore"/> whose files break after a number of bytes have been read, as a board
/// whose connection dies in the middle of a GET: the server ends the session when its read fails.
/// </summary>
internal sealed class FaultyFileStore(string root, long failAfterBytes) : IWebReplFileStore
{
    private readonly DirectoryFileStore _inner = new(root);

    public async ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) =>
        new FailingStream(await _inner.OpenReadAsync(path, cancellationToken), failAfterBytes);

    public ValueTask<IWebReplFileUpload> CreateAsync(string path, CancellationToken cancellationToken) =>
        _inner.CreateAsync(path, cancellationToken);

    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_read >= failAfter)
            {
                throw new IOException("Simulated failure in the middle of a GET.");
            }

            int n = inner.Read(buffer[..(int)Math.Min(buffer.Length, failAfter - _read)]);
            _read += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
