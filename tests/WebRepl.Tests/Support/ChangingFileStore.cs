using WebRepl.Device;

namespace WebRepl.Tests.Support;

/// <summary>
/// A <see cref="DirectoryFileStore"/> whose files change on disk while a GET reads them: once
/// <c>changeAfterBytes</c> have been read, <c>change</c> runs on the file's real path (append to it, truncate it),
/// and the open stream reads on from the changed file, as a board's file system would.
/// </summary>
internal sealed class ChangingFileStore(string root, long changeAfterBytes, Action<string> change) : IWebReplFileStore
{
    private readonly DirectoryFileStore _inner = new(root);

    public async ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) =>
        new ChangingStream(await _inner.OpenReadAsync(path, cancellationToken), changeAfterBytes, () => change(Path.Combine(root, path.TrimStart('/'))));

    public ValueTask<IWebReplFileUpload> CreateAsync(string path, CancellationToken cancellationToken) =>
        _inner.CreateAsync(path, cancellationToken);

    private sealed class ChangingStream(Stream inner, long changeAfter, Action change) : Stream
    {
        private long _read;
        private bool _changed;

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
            if (!_changed && _read >= changeAfter)
            {
                _changed = true;
                change();
            }

            int n = inner.Read(_changed ? buffer : buffer[..(int)Math.Min(buffer.Length, changeAfter - _read)]);
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
