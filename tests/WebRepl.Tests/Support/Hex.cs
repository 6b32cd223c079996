namespace WebRepl.Tests.Support;

internal static class Hex
{
    /// <summary>Bytes from hex written for people: spaces and line breaks are ignored.</summary>
    public static byte[] Parse(string text) =>
        Convert.FromHexString(string.Concat(text.Where(c => !char.IsWhiteSpace(c))));
}
