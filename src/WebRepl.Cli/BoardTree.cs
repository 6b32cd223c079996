using System.Globalization;
using WebRepl.Repl;

namespace WebRepl.Cli;

/// <summary><c>webrepl tree</c>'s drawing: a recursive listing as tree(1) shows it, folders marked with a trailing '/'.</summary>
internal static class BoardTree
{
    /// <summary>
    /// The lines for <paramref name="entries"/> (a recursive <see cref="BoardFiles.ListAsync"/> of <paramref name="folder"/>):
    /// the folder, its entries drawn as a tree (sizes of files when <paramref name="size"/> is given), then a count.
    /// Names are escaped: they come from the board.
    /// </summary>
    public static IReadOnlyList<string> Render(string folder, IReadOnlyList<BoardEntry> entries, Func<long, string>? size)
    {
        string root = folder is "" or "." or "./" ? string.Empty : folder.Length > 1 ? folder.TrimEnd('/') : folder;
        if (entries is [{ IsDirectory: false } file] && file.Path == root)
        {
            return [Line(file, size)];
        }

        var children = new Dictionary<string, List<BoardEntry>>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            string path = entry.Path.Length > 1 ? entry.Path.TrimEnd('/') : entry.Path;
            int slash = path.LastIndexOf('/');
            string parent = slash < 0 ? string.Empty : slash == 0 ? "/" : path[..slash];
            if (!children.TryGetValue(parent, out var list))
            {
                children[parent] = list = [];
            }

            list.Add(entry with { Path = path });
        }

        var lines = new List<string> { PrintableText.Escape(":" + (root.Length == 0 ? "." : root)) };
        int folders = 0, files = 0;
        void Walk(string parent, string indent)
        {
            if (!children.TryGetValue(parent, out var list))
            {
                return;
            }

            for (int i = 0; i < list.Count; i++)
            {
                bool last = i == list.Count - 1;
                lines.Add(indent + (last ? "└── " : "├── ") + Line(list[i], size));
                if (list[i].IsDirectory)
                {
                    folders++;
                    Walk(list[i].Path, indent + (last ? "    " : "│   "));
                }
                else
                {
                    files++;
                }
            }
        }

        Walk(root, string.Empty);
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"\n{folders} folder{(folders == 1 ? string.Empty : "s")}, {files} file{(files == 1 ? string.Empty : "s")}"));
        return lines;
    }

    private static string Line(BoardEntry entry, Func<long, string>? size) =>
        (size is null || entry.IsDirectory ? string.Empty : $"[{size(entry.Size),6}]  ") + PrintableText.Escape(entry.Name) + (entry.IsDirectory ? "/" : string.Empty);
}
