; Inno Setup script of the Windows installer: `python packaging/build.py` runs it (iscc) with
; /DAppVersion, /DBundleDir (dist\rupa-desk) and /DIconFile. Not built or tested on Linux; the
; CI workflow .github/workflows/packaging.yml builds it on a Windows runner.
;
; Per-machine (Program Files, needs an administrator), a Start menu entry, an uninstaller in
; "Apps & features". Uninstalling keeps the user's data (drafts, downloaded results, settings,
; the log: %LOCALAPPDATA%\RupaDesk) unless the user says to remove it when asked; a silent
; uninstall keeps it. Tokens in the Windows Credential Manager are the app's to remove (Sign
; out), not the uninstaller's.

#ifndef AppVersion
  #error Pass /DAppVersion=<version> (packaging/build.py does)
#endif
#ifndef BundleDir
  #error Pass /DBundleDir=<the PyInstaller bundle folder> (packaging/build.py does)
#endif

[Setup]
AppId={{6E3C5B0A-2F4B-4D1E-9C55-3A7D2B9E8F41}
AppName=Rupa Desk
AppVersion={#AppVersion}
AppPublisher=Rupa Desk
DefaultDirName={autopf}\Rupa Desk
DefaultGroupName=Rupa Desk
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename=RupaDesk-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\rupa-desk.exe
#ifdef IconFile
SetupIconFile={#IconFile}
#endif

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Rupa Desk"; Filename: "{app}\rupa-desk.exe"
Name: "{autodesktop}\Rupa Desk"; Filename: "{app}\rupa-desk.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Run]
Filename: "{app}\rupa-desk.exe"; Description: "{cm:LaunchProgram,Rupa Desk}"; Flags: nowait postinstall skipifsilent

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep = usPostUninstall then
  begin
    DataDir := ExpandConstant('{localappdata}\RupaDesk');
    if DirExists(DataDir) and not UninstallSilent() then
      if MsgBox('Rupa Desk is removed. Also remove your Rupa Desk data from this computer ' +
                '(draft orders not yet sent, downloaded results, settings and the log in ' +
                DataDir + ')?' + #13#10#13#10 + 'Choose No to keep them for a later install.',
                mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
        DelTree(DataDir, True, True, True);
  end;
end;
